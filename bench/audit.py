"""The audit log: a user change with its entry, and the audit view's read of 50,000 entries.

Figures: a role change through ``core.admin.users`` (update, sessions ended, entry written, one
transaction) against the same change without an entry; the view's read (newest first, all
50,000 entries made into its frame) and a filtered read (one actor, part of an object id).
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import Row, fresh_store, median_of, timed
from core.admin import audit
from core.admin.audit import Actor
from core.admin.users import UserAdmin
from core.kernel.records.audit import AuditQuery
from core.storage.repos.audit import AuditRepo, write_entry
from core.storage.repos.users import UserRepo

ENTRIES = 50_000


def _fill(repo: AuditRepo) -> None:
    now = int(time.time() * 1000)
    with repo.engine.begin() as conn:
        for i in range(ENTRIES):
            before = {"username": f"user-{i % 500}", "role": "viewer", "teams": ["a"], "disabled": False}
            after = {**before, "role": "developer"}
            e = audit.entry(
                Actor(f"admin-{i % 5}"), "user.set_access", f"user-{i % 500}", now - i * 1000, before, after
            )
            write_entry(conn, e)


def run(tmp: Path) -> list[Row]:
    store = fresh_store(tmp, "audit")
    users = UserRepo(store.engine)
    users.add(username="root", password_hash="x" * 60, role="admin", now_ms=0)
    users.add(username="ada", password_hash="x" * 60, role="viewer", now_ms=0)
    admin = UserAdmin(users, Actor("root"), rounds=4)
    roles = iter(["developer", "viewer"] * 200)
    e = audit.entry(Actor("root"), "user.set_access", "ada", 0, {"role": "viewer"}, {"role": "developer"})
    whole = median_of(50, timed(lambda: admin.set_access("ada", next(roles), None)))
    audited = median_of(50, timed(lambda: users.set_access("ada", next(roles), ["a"], audit=e)))
    plain = median_of(50, timed(lambda: users.set_access("ada", next(roles), ["a"])))
    repo = AuditRepo(store.engine)
    t0 = time.perf_counter()
    _fill(repo)
    fill_s = time.perf_counter() - t0
    with store.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    full = median_of(3, timed(lambda: audit.read(repo, AuditQuery())))
    filtered = median_of(5, timed(lambda: audit.read(repo, AuditQuery(actor="admin-3", object_text="ER-42"))))
    store.close()
    return [
        Row("audit: role change with its entry, one transaction (SQLite, median of 50)",
            f"{audited * 1000:.1f} ms", f"without an entry {plain * 1000:.1f} ms"),
        Row("audit: the admin's role change (checks, change, entry, re-read)", f"{whole * 1000:.1f} ms"),
        Row(f"audit: {n:,} entries written in one transaction", f"{fill_s:.1f} s"),
        Row(f"audit: view read of all {n:,} entries into its frame", f"{full * 1000:.0f} ms", target="< 2 s",
            verdict="ok" if full < 2 else "SLOW"),
        Row("audit: filtered read (actor + object text)", f"{filtered * 1000:.0f} ms", target="< 0.5 s",
            verdict="ok" if filtered < 0.5 else "SLOW"),
    ]  # fmt: skip
