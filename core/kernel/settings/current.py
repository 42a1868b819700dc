"""The settings as of now, built again only when their sources changed.

A dashboard page run needs the settings (which database to open) and building them from the
``PULSE_*`` variables and the settings file costs ~2 ms of validation: 7% of a page run's CPU.
:func:`current_settings` keeps the last build and its sources (every ``PULSE_*`` variable, the
working folder, the settings file's path and bytes: a few KB read, not its times, which the
kernel keeps to a clock tick), and builds again when they differ: an edit of the file, by hand
or by the Settings page, is seen at the next page run, as before.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from core.kernel.settings import DEFAULT_CONFIG_FILE, Settings, load_settings

_lock = threading.Lock()
_last: tuple[Any, Settings] | None = None


def _stamp() -> tuple[Any, ...]:
    path = os.environ.get("PULSE_CONFIG", DEFAULT_CONFIG_FILE)
    try:
        with open(path, "rb") as f:
            file: bytes | None = f.read()
    except OSError:
        file = None
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PULSE_")))
    return os.getcwd(), path, file, variables  # a relative path names another file in another folder


def current_settings() -> Settings:
    """:func:`load_settings` with no overrides, built again only when its sources changed
    (ConfigError as there; a failed build is not kept). Treat the result as read-only."""
    global _last
    stamp = _stamp()
    with _lock:
        if _last is not None and _last[0] == stamp:
            return _last[1]
    settings = load_settings()
    with _lock:
        _last = (stamp, settings)
    return settings
