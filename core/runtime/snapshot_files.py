"""Snapshot files on disk: their names (what and when), atomic writes, retention.

A name is ``<what>_<YYYY-MM-DDTHHMMZ>.csv`` (``usage-per-team_2026-12-03T0000Z.csv``): what the
file holds, and the instant its data ends (UTC). Retention reads that instant from the name, so a
copied or touched file keeps its age, and files whose names are not ours are never deleted.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from core.kernel.errors import ConfigError
from core.kernel.files import open_private, private_dir

KINDS = (
    "usage-per-team",
    "usage-per-user",
    "capacity-forecast",
    "recommendations-rightsizing",
    "recommendations-idle",
)
STAMP = "%Y-%m-%dT%H%MZ"
NAME = re.compile(r"^(?P<what>" + "|".join(map(re.escape, KINDS)) + r")_(?P<at>\d{4}-\d\d-\d\dT\d{4}Z)\.csv$")
DAY_MS = 86_400_000


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(STAMP)


def file_name(what: str, at_ms: int) -> str:
    if what not in KINDS:
        raise ValueError(f"unknown snapshot {what!r}; one of {', '.join(KINDS)}")
    return f"{what}_{stamp(at_ms)}.csv"


def parse_name(name: str) -> tuple[str, int] | None:
    """(what, at ms) of one of our file names; None for any other name."""
    m = NAME.match(name)
    if m is None:
        return None
    at = datetime.strptime(m["at"], STAMP).replace(tzinfo=UTC)
    return m["what"], int(at.timestamp() * 1000)


def ready_folder(folder: Path, setting: str) -> Path:
    """``folder`` created (0700) if missing; ConfigError naming ``setting`` when it cannot be used."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{setting} {folder}: exists and is not a folder; pick a folder for the snapshots")
    try:
        private_dir(folder)
    except OSError as exc:
        raise ConfigError(f"{setting} {folder}: cannot create the folder ({exc.strerror or exc})") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{setting} {folder}: the folder is not writable")
    return folder


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed over it (readers never see half)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(open_private(tmp), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def expired(folder: Path, now_ms: int, retention_days: float) -> list[Path]:
    """Our snapshot files in ``folder`` whose time is more than ``retention_days`` before ``now_ms``."""
    cutoff = now_ms - int(retention_days * DAY_MS)
    old = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        parsed = parse_name(path.name)
        if parsed is not None and parsed[1] < cutoff and path.is_file():
            old.append(path)
    return old


def prune(folder: Path, now_ms: int, retention_days: float) -> list[Path]:
    """Delete the expired snapshot files; the paths deleted."""
    gone = []
    for path in expired(folder, now_ms, retention_days):
        try:
            path.unlink()
            gone.append(path)
        except FileNotFoundError:
            pass
    return gone
