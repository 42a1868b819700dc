"""The metrics store: the only package of Pulse that speaks SQL."""

from core.storage.query import Query
from core.storage.selector import Matcher, Selector, parse_selector
from core.storage.store import Store, open_store

__all__ = ["Matcher", "Query", "Selector", "Store", "open_store", "parse_selector"]
