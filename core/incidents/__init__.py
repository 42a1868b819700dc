"""Incidents: correlated alerts with a lifecycle, a timeline, priority, MTTA/MTTR and reports.

The pure parts (``correlate``, ``priority``, ``lifecycle``, ``plan``, ``metrics``, ``report``) take
plain data; ``service.IncidentService`` loads and saves through ``core.storage.repos.incidents``.
This package imports nothing at import time so that the storage layer can use its model.
"""
