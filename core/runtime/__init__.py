"""Composition roots of ``pulse collect``: the daemon, its scheduler, spool, HTTP and self-metrics."""
