"""SQL of the notification stage: notification log, silences, delivery records, retry outbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.matchers import parse_matchers
from core.kernel.records.audit import AuditEntry
from core.kernel.records.notifications import Delivery, EscalationState, Key, LogEntry, OutboxEntry, Silence
from core.storage.engine import storage_errors
from core.storage.repos.audit import write_entry
from core.storage.schema import deliveries, escalations, notification_log, outbox, silences
from core.storage.upsert import upsert


class DbNotificationLog:
    """What each receiver was last told about each group; read once, then written through."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with storage_errors("reading the notification log"), engine.connect() as conn:
            rows = conn.execute(sa.select(notification_log)).mappings().all()
        self._cache = {
            (r["receiver"], r["group_key"]): LogEntry(
                frozenset(json.loads(r["firing"])), frozenset(json.loads(r["resolved"])), r["sent_ms"]
            )
            for r in rows
        }

    def get(self, receiver: str, group_key: str) -> LogEntry | None:
        return self._cache.get((receiver, group_key))

    def put(self, receiver: str, group_key: str, entry: LogEntry) -> None:
        row = {
            "receiver": receiver,
            "group_key": group_key,
            "firing": json.dumps(sorted(entry.firing)),
            "resolved": json.dumps(sorted(entry.resolved)),
            "sent_ms": entry.sent_ms,
        }
        with storage_errors("writing the notification log"), self.engine.begin() as conn:
            upsert(conn, notification_log, [row], ["receiver", "group_key"])
        self._cache[(receiver, group_key)] = entry


# -- silences --------------------------------------------------------------------------------------
def _silence(r: sa.RowMapping) -> Silence:
    return Silence(
        r["id"],
        parse_matchers(json.loads(r["matchers"])),
        r["starts_ms"],
        r["ends_ms"],
        r["created_by"],
        r["comment"],
        r["created_ms"],
    )


def add_silence(engine: Engine, s: Silence, audit: AuditEntry | None = None) -> None:
    """Store a silence (and its audit entry, in the same transaction)."""
    row = {
        "id": s.id,
        "matchers": json.dumps([f'{m.label}{m.op}"{m.value}"' for m in s.matchers]),
        "starts_ms": s.starts_ms,
        "ends_ms": s.ends_ms,
        "created_by": s.created_by,
        "comment": s.comment,
        "created_ms": s.created_ms,
    }
    with storage_errors("saving a silence"), engine.begin() as conn:
        conn.execute(sa.insert(silences), [row])
        if audit is not None:
            write_entry(conn, audit)


def expire_silence(engine: Engine, silence_id: str, now_ms: int, audit: AuditEntry | None = None) -> bool:
    """End a silence now (and write ``audit`` in the same transaction); False when no pending or
    active silence has this id (then nothing is written)."""
    c = silences.c
    with storage_errors("expiring a silence"), engine.begin() as conn:
        done = conn.execute(
            sa.update(silences).where(c.id == silence_id, c.ends_ms > now_ms).values(ends_ms=now_ms)
        )
        if done.rowcount and audit is not None:
            write_entry(conn, audit)
    return bool(done.rowcount)


def list_silences(engine: Engine, since_ms: int = 0) -> list[Silence]:
    """Silences that end after ``since_ms`` (0: all), soonest start first."""
    c = silences.c
    with storage_errors("reading silences"), engine.connect() as conn:
        rows = conn.execute(sa.select(silences).where(c.ends_ms > since_ms).order_by(c.starts_ms)).mappings()
        return [_silence(r) for r in rows]


class SilenceCache:
    """Active silences for the pipeline, re-read at most every ``ttl_ms``."""

    def __init__(self, engine: Engine, clock_ms: Callable[[], int], ttl_ms: int = 5000) -> None:
        self.engine, self.clock_ms, self.ttl_ms = engine, clock_ms, ttl_ms
        self._at: int = -(10**18)
        self._items: list[Silence] = []

    def refresh(self) -> None:
        self._at = -(10**18)

    def __call__(self) -> list[Silence]:
        now = self.clock_ms()
        if now - self._at >= self.ttl_ms:
            self._items, self._at = list_silences(self.engine, now), now
        return self._items


# -- deliveries ------------------------------------------------------------------------------------
def record_delivery(engine: Engine, d: Delivery) -> None:
    row = {
        "channel": d.channel,
        "at_ms": d.at_ms,
        "ok": d.ok,
        "action": d.action,
        "outcome": d.outcome,
        "group_key": d.group_key,
        "attempt": d.attempt,
        "status_code": d.status_code,
        "error": d.error,
        "alerts": d.alerts,
        "duration_ms": d.duration_ms,
    }
    with storage_errors("recording a delivery"), engine.begin() as conn:
        conn.execute(sa.insert(deliveries), [row])


DELIVERY_SCHEMA = {
    "at_ms": pl.Int64,
    "channel": pl.Utf8,
    "action": pl.Utf8,
    "outcome": pl.Utf8,
    "ok": pl.Boolean,
    "status_code": pl.Int64,
    "attempt": pl.Int64,
    "alerts": pl.Int64,
    "group_key": pl.Utf8,
    "error": pl.Utf8,
    "duration_ms": pl.Int64,
}


def read_deliveries(engine: Engine, start_ms: int, end_ms: int) -> pl.DataFrame:
    c = deliveries.c
    cols = [getattr(c, k) for k in DELIVERY_SCHEMA]
    with storage_errors("reading deliveries"), engine.connect() as conn:
        rows = conn.execute(
            sa.select(*cols).where(c.at_ms >= start_ms, c.at_ms < end_ms).order_by(c.at_ms, c.id)
        ).all()
    return pl.DataFrame(rows, schema=DELIVERY_SCHEMA, orient="row")


# -- the retry outbox ------------------------------------------------------------------------------
class DbOutbox:
    """The dispatcher's outbox kept in the database, so a restart does not forget a retry."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def _load(self, where: sa.ColumnElement[bool] | None = None) -> list[OutboxEntry]:
        q = sa.select(outbox.c.entry)
        if where is not None:
            q = q.where(where)
        with storage_errors("reading the outbox"), self.engine.connect() as conn:
            return [OutboxEntry.from_dict(json.loads(t)) for t in conn.execute(q).scalars()]

    @staticmethod
    def _where(key: Key) -> sa.ColumnElement[bool]:
        c = outbox.c
        return sa.and_(c.channel == key[0], c.group_key == key[1], c.kind == key[2])

    def put(self, entry: OutboxEntry) -> OutboxEntry | None:
        with self._lock:
            old = self.get(entry.key)
            row = {
                "channel": entry.key[0],
                "group_key": entry.key[1],
                "kind": entry.key[2],
                "next_at_ms": entry.next_at_ms,
                "entry": json.dumps(entry.to_dict()),
            }
            with storage_errors("writing the outbox"), self.engine.begin() as conn:
                upsert(conn, outbox, [row], ["channel", "group_key", "kind"])
            return old

    def get(self, key: Key) -> OutboxEntry | None:
        found = self._load(self._where(key))
        return found[0] if found else None

    def remove(self, key: Key) -> OutboxEntry | None:
        with self._lock:
            old = self.get(key)
            with storage_errors("writing the outbox"), self.engine.begin() as conn:
                conn.execute(sa.delete(outbox).where(self._where(key)))
            return old

    def due(self, now_ms: int) -> list[OutboxEntry]:
        return sorted(self._load(outbox.c.next_at_ms <= now_ms), key=lambda e: e.next_at_ms)

    def entries(self) -> list[OutboxEntry]:
        return sorted(self._load(), key=lambda e: e.first_at_ms)

    def __len__(self) -> int:
        with storage_errors("reading the outbox"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())


# -- escalation state ------------------------------------------------------------------------------
def load_escalations(engine: Engine) -> dict[int, EscalationState]:
    with storage_errors("reading escalations"), engine.connect() as conn:
        rows = conn.execute(sa.select(escalations)).mappings().all()
    return {
        r["incident_id"]: EscalationState(
            r["incident_id"], r["policy"], r["step"], r["round"], r["next_ms"], bool(r["done"])
        )
        for r in rows
    }


def save_escalation(engine: Engine, s: EscalationState) -> None:
    row = {
        "incident_id": s.incident_id,
        "policy": s.policy,
        "step": s.step,
        "round": s.round,
        "next_ms": s.next_ms,
        "done": s.done,
    }
    with storage_errors("saving an escalation"), engine.begin() as conn:
        upsert(conn, escalations, [row], ["incident_id"])
