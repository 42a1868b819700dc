"""core.views.scope: every read narrowed to a user's teams, on a real store."""

from __future__ import annotations

import pytest

from core.kernel.samples import Sample, labels_of
from core.kernel.selector import Matcher, Selector
from core.kernel.times import MINUTE, TimeRange
from core.storage.tsdb import Store
from core.views import Filters, health, label_values, scoped
from core.views import performance as perf
from core.views.scope import NOTHING, ScopedReader, any_of
from tests.conftest import FakeClock

SERVERS = {"github": ("web-1", "platform"), "postgres": ("web-1", "data"), "files": ("gpu-1", "ml")}
HOSTS = ("web-1", "web-2", "gpu-1")


@pytest.fixture
def fleet(store: Store, clock: FakeClock) -> Store:
    """Ten minutes of a tiny fleet: host metrics (no team), server metrics (team), Pulse's own."""
    batch = []
    start = clock.ms - 10 * MINUTE
    for i, ts in enumerate(range(start, clock.ms, MINUTE)):
        for host in HOSTS:
            batch.append(Sample("host_up", labels_of(host=host), ts, 1.0))
            batch.append(Sample("host_cpu_utilization_ratio", labels_of(host=host), ts, 0.5))
        for server, (host, team) in SERVERS.items():
            lb = labels_of(server=server, host=host, team=team)
            batch.append(Sample("mcp_server_up", lb, ts, 1.0))
            tool = labels_of(server=server, host=host, team=team, gen_ai_tool_name="t")
            batch.append(Sample(perf.CALLS, tool, ts, float(i * 60)))
        batch.append(Sample("pulse_ingest_samples_total", labels_of(job="pulse"), ts, float(i)))
    store.write(batch)
    store.run_rollups()  # minute-step ranges read the 1-minute rollups
    return store


def servers(df_labels: list[dict[str, str]]) -> set[str]:
    return {lb["server"] for lb in df_labels}


def test_any_of_is_a_literal_alternative_or_nothing() -> None:
    m = Matcher("team", "=~", any_of(["a.b", "c"]))
    assert m.matches({"team": "a.b"}) and m.matches({"team": "c"})
    assert not m.matches({"team": "axb"}) and not m.matches({"team": "c2"})
    none = Matcher("team", "=~", NOTHING)
    assert not none.matches({"team": ""}) and not none.matches({})


def test_no_scope_is_the_store_itself(fleet: Store) -> None:
    assert scoped(fleet, None) is fleet


def test_team_labelled_series_are_narrowed_to_the_teams(fleet: Store) -> None:
    reader = scoped(fleet, ["platform", "data"])
    found = reader.series(Selector("mcp_server_up"))
    assert servers(found["labels"].to_list()) == {"github", "postgres"}
    df = reader.select('mcp_server_up{server=~".+"}', fleet.now_ms() - 5 * MINUTE, fleet.now_ms())
    assert set(df["server"]) == {"github", "postgres"}


def test_host_series_are_narrowed_to_hosts_running_the_teams_servers(fleet: Store) -> None:
    assert label_values(scoped(fleet, ["ml"]), "host_up", "host") == ["gpu-1"]
    assert label_values(scoped(fleet, ["data", "platform"]), "host_up", "host") == ["web-1"]
    assert label_values(fleet, "host_up", "host") == sorted(HOSTS)


def test_series_without_team_or_host_and_empty_scopes_match_nothing(fleet: Store) -> None:
    assert scoped(fleet, ["platform"]).series(Selector("pulse_ingest_samples_total")).is_empty()
    nobody = scoped(fleet, [])
    for metric in ("mcp_server_up", "host_up", "pulse_ingest_samples_total", "no_such_metric"):
        assert nobody.series(Selector(metric)).is_empty()


def test_a_filter_for_another_team_selects_nothing_instead_of_widening(fleet: Store) -> None:
    reader = scoped(fleet, ["platform"])
    sel = Selector("mcp_server_up", (Matcher("team", "=", "ml"),))
    assert reader.series(sel).is_empty()
    assert isinstance(reader, ScopedReader)
    assert reader.restrict(sel).matchers[-1] == Matcher("team", "=~", "platform")


def test_views_return_only_the_scope(fleet: Store, clock: FakeClock) -> None:
    reader = scoped(fleet, ["platform"])
    status = health.server_status(reader, clock.ms)
    assert set(status["server"]) == {"github"}
    hosts = health.host_status(reader, clock.ms)
    assert set(hosts["host"]) == {"web-1"}
    tr = TimeRange("custom", clock.ms - 10 * MINUTE, clock.ms, MINUTE)
    assert set(health.host_series(reader, tr, Filters(), "cpu")["host"]) == {"web-1"}
    assert set(perf.tool_buckets(reader, tr, Filters())["server"]) == {"github"}
    # a team filter outside the scope yields nothing, not the fleet
    assert health.server_status(reader, clock.ms, Filters(teams=("ml",))).is_empty()
    assert health.host_status(reader, clock.ms, Filters(teams=("ml",))).is_empty()
