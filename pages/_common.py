"""The shared UI of the dashboard pages, in one import: ``from pages import _common as ui``.

Each name lives in the module of its responsibility; this module only gathers them so a page
reads ``ui.console()``, ``ui.query(...)``, ``ui.page_header(...)``:

- ``pages/_seam.py``: the store, the signed-in user and their team-scoped console (the seam);
- ``pages/_cached_reads.py``: view functions run on the user's store, cached per team scope;
- ``pages/_empty_state.py``: what a page says when its metrics were never stored;
- ``pages/_page_header.py``: the navigation and role check, then the title.

Controls bound to the URL are in ``pages/_controls.py``; tables, charts and downloads in
``pages/_render.py``. Not a page: app.py lists its pages explicitly, so no ``pages/_*.py`` module
appears in the navigation. Canonical choices live in session state (``pages/_keys.py``) and are
mirrored to ``st.query_params`` so a copied link opens the same view.
"""

from pages._cached_reads import QUERY_MAX_ENTRIES, QUERY_TTL_S, alert_counts, query
from pages._empty_state import EMPTY_HINT, has_data, require_data
from pages._page_header import no_access, page_header
from pages._seam import backend, console, principal

__all__ = [
    "EMPTY_HINT",
    "QUERY_MAX_ENTRIES",
    "QUERY_TTL_S",
    "alert_counts",
    "backend",
    "console",
    "has_data",
    "no_access",
    "page_header",
    "principal",
    "query",
    "require_data",
]
