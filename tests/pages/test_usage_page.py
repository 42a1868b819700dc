"""AppTest of the Usage page on a small demo fleet: what each role sees, URL parameters, CSV, snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from core.access import accounts
from core.kernel.csvsafe import to_csv_bytes
from core.kernel.samples import Sample, labels_of
from core.kernel.settings import load_settings
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from tests.demo_store import HOUR, DemoStore, write_demo
from tests.pages.conftest import AppFactory, add_users, copy_db

PAGE = "pages/usage.py"


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    url = f"sqlite:///{tmp_path_factory.mktemp('usage')}/u.db"
    now = int(time.time() * 1000)
    d = write_demo(url, now - 12 * HOUR, now, step_s=300)
    a, b = d.teams[0], d.teams[1]
    owners = d.owners()
    dev_a = sorted(u for t, u in owners.values() if t == a)[0]
    store = open_store(load_settings(database_url=url))
    repo = UserRepo(store.engine)
    for name, role, teams in (
        ("admin", "admin", ()),
        ("lead-a", "team_lead", (a,)),
        (dev_a, "developer", (a,)),
        ("viewer", "viewer", ()),
    ):
        repo.add(
            username=name,
            password_hash=accounts.hash_password("pass-word-1", rounds=4),
            role=role,
            teams=teams,
            display_name=name,
            now_ms=store.now_ms(),
        )
    store.close()
    assert b not in {a}
    return d


def dev_of(d: DemoStore) -> str:
    return sorted(u for t, u in d.owners().values() if t == d.teams[0])[0]


def frames(at):  # type: ignore[no-untyped-def]
    return [df.value for df in at.dataframe]


def test_admin_sees_every_team_with_totals_and_a_trend(app: AppFactory, demo: DemoStore) -> None:
    at = app(demo.url, PAGE, range="6h")
    assert not at.exception
    assert at.title[0].value == "Usage"
    teams = frames(at)[0]
    assert sorted(teams["team"]) == sorted(demo.teams)
    assert (teams["mcp_servers"].sum()) == len(demo.demo.topology.servers)
    assert (teams["cost"] > 0).all() and (teams["tool_calls"] > 0).all()
    assert len(at.get("plotly_chart")) == 1
    assert len(at.get("download_button")) == 4  # per team, trend, per user, per server
    assert any(b.label == "Take snapshot now" for b in at.sidebar.button)


def test_team_lead_sees_only_their_team_also_through_url_parameters(app: AppFactory, demo: DemoStore) -> None:
    a, b = demo.teams[0], demo.teams[1]
    other_servers = [s for s, (t, _) in demo.owners().items() if t == b]
    for params in ({}, {"team": b}, {"team": [a, b]}, {"server": other_servers[0]}):
        at = app(demo.url, PAGE, user="lead-a", range="6h", **params)
        assert not at.exception
        shown = frames(at)
        teams = set(shown[0]["team"]) if shown else set()
        assert b not in teams, params
        for df in shown[1:]:
            assert set(df["team"]) <= {a}, params
        assert not any(b.label == "Take snapshot now" for b in at.sidebar.button)
    at = app(demo.url, PAGE, user="lead-a", range="6h")
    assert set(frames(at)[0]["team"]) == {a}


def test_developer_sees_only_their_own_usage(app: AppFactory, demo: DemoStore) -> None:
    dev = dev_of(demo)
    mine = {s for s, (_, u) in demo.owners().items() if u == dev}
    at = app(demo.url, PAGE, user=dev, range="6h")
    assert not at.exception
    assert any(dev in c.value for c in at.caption)
    teams, users, servers = frames(at)
    assert len(teams) == 1 and teams["mcp_servers"][0] == len(mine)
    assert "active_users_peak" not in teams.columns  # team-wide gauges are not theirs
    assert at.segmented_control(key="usage.trend").options == [
        "Tool calls", "Cost", "CPU core-hours", "Memory GiB-hours"
    ]  # fmt: skip
    assert set(users["user"]) == {dev}
    assert set(servers["server"]) <= mine and set(servers["user"]) == {dev}
    # another team's name in the URL is dropped (not theirs): still only their own rows
    at = app(demo.url, PAGE, user=dev, range="6h", team=demo.teams[1])
    assert all(set(df["user"]) == {dev} for df in frames(at)[1:])
    # a teammate's server (in their team's scope, not their own) selects nothing
    other = sorted(s for s, (t, u) in demo.owners().items() if t == demo.teams[0] and u != dev)
    at = app(demo.url, PAGE, user=dev, range="6h", server=other[0])
    assert not at.exception and not at.dataframe
    assert any("No usage" in i.value and "clear the filters" in i.value for i in at.info)
    # no filter set: the empty state does not tell them to clear one
    day = 86_400_000
    old = {
        k: time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(v / 1000))
        for k, v in (("from", now_ms() - 30 * day), ("to", now_ms() - 29 * day))
    }
    at = app(demo.url, PAGE, user=dev, range="custom", **old)
    (info,) = [i.value for i in at.info if "No usage" in i.value]
    assert info.endswith("Pick a longer range.")


def test_viewer_is_refused(app: AppFactory, demo: DemoStore) -> None:
    at = app(demo.url, PAGE, user="viewer")
    assert any("may not open Usage" in e.value for e in at.error)
    assert not at.dataframe


def test_admin_takes_a_snapshot_from_the_page(app: AppFactory, demo: DemoStore) -> None:
    at = app(demo.url, PAGE, range="6h")
    next(b for b in at.sidebar.button if b.label == "Take snapshot now").click().run()
    assert not at.exception
    assert any("file(s) written" in s.value for s in at.sidebar.success)
    paths = [Path(line) for line in at.sidebar.code[0].value.splitlines()]
    assert {p.name.split("_")[0] for p in paths} >= {"usage-per-team", "usage-per-user", "capacity-forecast"}
    team_csv = next(p for p in paths if p.name.startswith("usage-per-team_")).read_text()
    assert team_csv.splitlines()[0].startswith("team,active_users_peak,users,")
    assert all(t in team_csv for t in demo.teams)


def test_tables_and_csv_are_neutralised(app: AppFactory, tmp_path: Path) -> None:
    """Label values that a spreadsheet would run as formulas are shown (and exported) with a quote."""
    url = f"sqlite:///{tmp_path}/evil.db"
    now = int(time.time() * 1000)
    lb = labels_of(server="+srv", team="=1+1", user="@evil", session_id="-s", kind="x", host="h")
    batch = [
        Sample(metric, lb, ts, value)
        for ts in range(now - 2 * HOUR, now, 60_000)
        for metric, value in (("mcp_server_up", 1.0), ("container_cpu_usage_cores", 0.5))
    ]
    store = open_store(load_settings(database_url=url))
    store.write(batch)
    store.run_rollups()
    store.close()
    add_users(url, ("admin",))
    at = app(url, PAGE, range="1h")
    assert not at.exception
    teams, users, servers = frames(at)
    assert list(teams["team"]) == ["'=1+1"]
    assert list(users["user"]) == ["'@evil"] and list(servers["server"]) == ["'+srv"]
    text = to_csv_bytes(pl.from_pandas(servers)).decode()
    assert "'+srv" in text and "'=1+1" in text


def test_prices_start_at_the_settings_and_the_snapshot_agrees(
    app: AppFactory, demo: DemoStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("CPU_CORE_HOUR", "2.5"), ("MEMORY_GIB_HOUR", "0.5"), ("CURRENCY", "EUR")):
        monkeypatch.setenv(f"PULSE_PRICES__{name}", value)
    at = app(copy_db(demo.url, tmp_path), PAGE, range="6h")
    assert not at.exception
    assert at.number_input(key="usage.price.cpu_core_hour").value == 2.5
    assert at.number_input(key="usage.price.memory_gib_hour").value == 0.5
    assert any(m.label == "Cost (EUR, requests)" for m in at.metric)
    next(b for b in at.sidebar.button if b.label == "Take snapshot now").click().run()
    path = next(Path(p) for p in at.sidebar.code[0].value.splitlines() if "usage-per-team_" in p)
    snap = pl.read_csv(path)
    want = snap["cpu_request_core_hours"] * 2.5 + snap["memory_request_gib_hours"] * 0.5
    assert (snap["cost"] - want).abs().max() < 1e-3 and snap["cost"].sum() > 0
    assert any("shorter than 2 days" in c.value for c in at.caption)  # growth's basis, stated
