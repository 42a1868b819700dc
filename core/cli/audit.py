"""``pulse audit``: the audit log (who changed what, when, before and after), newest first.

``--since 7d`` (default) or an ISO time; ``--actor``, ``--action`` and ``--object`` filter.
``--format table`` (default) prints one line per entry; ``csv`` writes the whole entries with
formula-looking cells neutralised (``core.kernel.csvsafe``); ``json`` an array of entries whose
``before`` and ``after`` are objects. Secrets were masked before they were stored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime

from core.admin import audit
from core.kernel.csvsafe import to_csv_bytes
from core.kernel.records.audit import AuditEntry, AuditQuery
from core.kernel.settings import Settings
from core.kernel.times import parse_time_ms

_DURATION = re.compile(r"(\d+(\.\d+)?(ms|s|m|h|d|w))+")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(args: argparse.Namespace, settings: Settings) -> list[AuditEntry]:
    from core.storage.repos.audit import AuditRepo
    from core.storage.tsdb import open_store

    store = open_store(settings)
    try:
        now = store.now_ms()
        query = AuditQuery(
            since_ms=parse_time_ms(_relative(args.since), now),
            until_ms=parse_time_ms(_relative(args.until), now),
            actor=args.actor,
            action=args.action,
            object_text=args.object,
            limit=args.limit,
        )
        return AuditRepo(store.engine).read(query)
    finally:
        store.close()


def _relative(text: str) -> str:
    """``7d`` means seven days ago, as ``-7d`` and ``now-7d`` do."""
    text = text.strip()
    return f"-{text}" if _DURATION.fullmatch(text) else text


def _table(entries: list[AuditEntry]) -> None:
    if not entries:
        print("no audit entries in this range")
        return
    header = ("TIME", "ACTOR", "SOURCE", "ACTION", "OBJECT", "CHANGES")
    rows = [
        (
            _iso(e.at_ms),
            e.actor,
            e.source,
            e.action,
            f"{e.object_kind}:{e.object_id}",
            " ".join(e.note.split()),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def _json(entries: list[AuditEntry]) -> None:
    out = [
        {
            "time": _iso(e.at_ms),
            "actor": e.actor,
            "source": e.source,
            "action": e.action,
            "object_kind": e.object_kind,
            "object_id": e.object_id,
            "changes": e.note,
            "before": None if e.before is None else dict(e.before),
            "after": None if e.after is None else dict(e.after),
        }
        for e in entries
    ]
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    print()


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    entries = _read(args, settings)
    if args.format == "csv":
        sys.stdout.write(to_csv_bytes(audit.frame(entries)).decode())
    elif args.format == "json":
        _json(entries)
    else:
        _table(entries)
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="7d", help="7d (default), now-12h, an ISO 8601 time or Unix seconds")
    p.add_argument("--until", default="now", help="now (default), 1d (a day ago), --until=-1d, an ISO time")
    p.add_argument("--actor", default=None, help="only this actor (a username, or cli:<os user>)")
    p.add_argument("--action", default=None, help="only this action, e.g. user.create or silence.end")
    p.add_argument("--object", default=None, help="only objects whose id contains this text")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--limit", type=int, default=10_000, help="at most this many entries (newest first)")
    p.set_defaults(func=cmd_audit)
