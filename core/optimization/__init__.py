"""Optimization: right-sizing, idle resources, consolidation and regressions tied to their cause.

Domain only (polars frames, dataclasses and pydantic settings in, the same out; no Streamlit, no
SQL). Reads go through a :class:`core.views.Reader` (pass the team-scoped one). Modules:

* ``settings``: prices, usage window, idle and consolidation settings (bounded, described);
* ``usage``: :func:`read_usage`, one query per metric for every container;
* ``strategies``: ``simple``, ``simple-limit``, ``memory-percentile`` and :func:`make_strategy`;
* ``rightsizing``: :func:`rightsize`, :func:`recommend`, :func:`to_frame` -> ``Recommendation``;
* ``idle``: idle servers and sessions, underused hosts, :func:`consolidation_plan`;
* ``consolidation``: :func:`pack` (CP-SAT, first-fit decreasing fallback, lower bound, gap);
* ``deploys`` and ``regressions``: change events and :func:`find_regressions`;
* ``hotspots``: tools by share of call time, latency against load;
* ``service``: :func:`recommendations` (flat rows per kind, what ``pulse recommend`` prints);
* ``whatif``: widget specs from the settings models.

Nothing is imported here, so that importing one module does not load OR-Tools or ruptures.
"""
