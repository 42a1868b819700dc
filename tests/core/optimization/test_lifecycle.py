"""Recommendation lifecycle through the seam on a real store: who may mark what, the allowed
changes of state, snoozes that end, and the measured before/after of an applied right-sizing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.access.policy import Principal, Role
from core.kernel.errors import PermissionDenied
from core.kernel.settings import load_settings
from core.optimization.impact import ImpactSettings
from core.optimization.lifecycle import LifecycleError
from core.seam import Console
from core.storage.tsdb import Store, open_store
from tests.core.optimization.test_impact import APPLIED, HOUR, write_server

KEY = "rightsizing:right-sized"


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Store, Clock]]:
    clock = Clock(APPLIED + 72 * HOUR)  # the store refuses samples from the future: write them "later"
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/p.db", data_dir=tmp_path)
    store = open_store(settings, clock=clock)  # upgrades the schema to head, 0011 included
    write_server(store, "right-sized", throttled_after=False, seed=1)
    clock.ms = APPLIED
    yield store, clock
    store.close()


def console(store: Store, name: str, role: Role, *teams: str) -> Console:
    return Console(store.settings, store, Principal(name, role, frozenset(teams)))


def test_a_team_lead_applies_and_sees_what_it_changed(world: tuple[Store, Clock]) -> None:
    store, clock = world
    lead = console(store, "lena", Role.TEAM_LEAD, "platform").recommendations
    event = lead.mark("rightsizing", "right-sized", "applied", "requests cut to the p95 on Monday")
    assert (event.state, event.team, event.username, event.at_ms) == ("applied", "platform", "lena", APPLIED)
    with pytest.raises(LifecycleError, match="applied can only become: open"):
        lead.mark("rightsizing", "right-sized", "dismissed", "changed my mind")
    clock.ms = APPLIED + 72 * HOUR
    impact = {r["metric"]: r for r in lead.impact(KEY, ImpactSettings(window_hours=72)).to_dicts()}
    assert (
        impact["cost_monthly"]["verdict"] == "improved"
        and impact["cpu_usage_cores"]["verdict"] == "no change"
    )
    states = lead.states()
    assert states.select("key", "state", "username").rows() == [(KEY, "applied", "lena")]
    lead.mark("rightsizing", "right-sized", "open", "rolled back")
    assert [e.state for e in lead.history(KEY)] == ["applied", "open"]


def test_dismissing_needs_a_reason_and_snoozes_end(world: tuple[Store, Clock]) -> None:
    store, clock = world
    admin = console(store, "root", Role.ADMIN).recommendations
    with pytest.raises(LifecycleError, match="say why it is dismissed"):
        admin.mark("rightsizing", "right-sized", "dismissed", "  ")
    with pytest.raises(LifecycleError, match="a snooze needs an end in the future"):
        admin.mark("rightsizing", "right-sized", "snoozed", until_ms=APPLIED - 1)
    with pytest.raises(LifecycleError, match="unknown state 'done'"):
        admin.mark("rightsizing", "right-sized", "done")
    admin.mark("rightsizing", "right-sized", "snoozed", "after the release", until_ms=APPLIED + HOUR)
    assert admin.states()["state"].to_list() == ["snoozed"]
    clock.ms = APPLIED + HOUR
    assert admin.states()["state"].to_list() == ["open"]  # the snooze ended by itself
    admin.mark("rightsizing", "right-sized", "dismissed", "this server is being retired")
    assert admin.states()["reason"].to_list() == ["this server is being retired"]


def test_scope(world: tuple[Store, Clock]) -> None:
    store, _ = world
    other = console(store, "otto", Role.TEAM_LEAD, "data").recommendations
    with pytest.raises(LifecycleError, match="no server 'right-sized' in the teams you can see"):
        other.mark("rightsizing", "right-sized", "applied")
    with pytest.raises(PermissionDenied):  # a database has no team: admins only
        other.mark("database", 'CREATE INDEX ON "app"."events" ("user_id")', "applied")
    admin = console(store, "root", Role.ADMIN).recommendations
    admin.mark("database", 'CREATE INDEX ON "app"."events" ("user_id")', "applied", "created Tuesday")
    admin.mark("rightsizing", "right-sized", "applied")
    assert set(admin.states()["kind"]) == {"database", "rightsizing"}
    assert other.states().is_empty()  # neither the database nor another team's server
    lead = console(store, "lena", Role.TEAM_LEAD, "platform").recommendations
    assert lead.states()["kind"].to_list() == ["rightsizing"]
    with pytest.raises(LifecycleError, match="names no statement"):  # a key without its queryid
        admin.impact('database:CREATE INDEX ON "app"."events" ("user_id")')
