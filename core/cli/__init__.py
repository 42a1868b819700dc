"""``pulse``: the command line (a composition root beside the daemon's runtime)."""

from core.cli.main import main

__all__ = ["main"]
