"""The metrics store: the only package of Pulse that speaks SQL.

The names below are imported lazily, so that ``core.storage.selector`` (which settings validate
matchers with) can be imported without loading the store, and thus without ``core.config``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.storage.query import Query
    from core.storage.selector import Matcher, Selector, parse_selector
    from core.storage.store import Store, open_store

_WHERE = {
    "Query": "core.storage.query",
    "Matcher": "core.storage.selector",
    "Selector": "core.storage.selector",
    "parse_selector": "core.storage.selector",
    "Store": "core.storage.store",
    "open_store": "core.storage.store",
}
__all__ = ["Matcher", "Query", "Selector", "Store", "open_store", "parse_selector"]


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'core.storage' has no attribute {name!r}")
