"""The one seam between the pages and everything below them.

A page gets a :class:`Console` for the signed-in user from ``pages/_common.py`` and calls it; it
never touches an engine, a repository, the runtime or a collector. The Console carries the
user's scope (role and teams) and applies it to every read and action in one place:

* reads of metrics go through the store narrowed to the user's teams (``core.views.scope``);
* alerts, silences and incidents are filtered to the user's teams;
* every action checks ``core.access.policy.may`` before it writes.

The :class:`Backend` is process-wide (settings and the opened store, built once by the page
layer's resource cache); ``Backend.console(principal)`` is cheap and made on every run.
"""

from core.seam.backend import Backend, open_backend
from core.seam.console import Console

__all__ = ["Backend", "Console", "open_backend"]
