"""The Prometheus API served in-process on a loopback port over a real SQLite store: envelope,
status codes, bearer tokens, team scoping, limits, and remote write (limits, refusals, an outage)."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cramjam
import pytest
import sqlalchemy as sa

from core.kernel.samples import STALE_NAN, Sample, labels_of
from core.kernel.settings import Settings, load_settings
from core.runtime.promapi import ApiServer, start_api
from core.runtime.remote_write import write_request_class
from core.runtime.spool import BufferedWriter
from core.storage.tsdb.store import Store, open_store

ADMIN, TEAM_A, WRITER = "admin-token-0123456789", "teama-token-0123456789", "write-token-0123456789"
NOW = int(time.time()) * 1000


def make_settings(tmp_path: Path, url: str | None = None, **api: Any) -> Settings:
    tokens = [
        {"name": "admin", "token": ADMIN},
        {"name": "team-a", "token": TEAM_A, "teams": ["a"]},
        {"name": "agent", "token": WRITER, "write": True},
    ]
    return load_settings(
        database_url=url or f"sqlite:///{tmp_path}/pulse.db",
        data_dir=tmp_path,
        api={"enabled": True, "port": 0, "tokens": tokens, **api},
    )


def seed(store: Store) -> None:
    rows = [
        ("mcp_server_up", labels_of(team="a", host="h1", server="s1")),
        ("mcp_server_up", labels_of(team="b", host="h2", server="s2")),
        ("host_cpu_utilization_ratio", labels_of(host="h1")),
        ("host_cpu_utilization_ratio", labels_of(host="h2")),
        ("pulse_own_metric", ()),
    ]
    store.write([Sample(m, lb, NOW - i * 15_000, 0.5) for m, lb in rows for i in range(20)])


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[tuple[ApiServer, Store, BufferedWriter, Settings]]:
    """The API on SQLite and PostgreSQL (the ``backend`` parameter of tests/conftest.py)."""
    settings = make_settings(tmp_path, db_url, max_write_bytes=64 << 10, max_write_samples=100)
    store = open_store(settings)
    seed(store)
    writer = BufferedWriter(store, tmp_path / "spool", 10_000, retry_interval_s=0)
    server = start_api(settings.api, store, writer)
    yield server, store, writer, settings
    server.stop()
    store.close()


def call(
    server: ApiServer, path: str, token: str | None = ADMIN, data: bytes | None = None, **headers: str
) -> tuple[int, Any]:
    req = urllib.request.Request(server.url + path, data=data, headers=headers)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def q(expr: str) -> str:
    return "/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": NOW / 1000})


def test_query_envelope_and_errors(api: tuple[ApiServer, Store, BufferedWriter, Settings]) -> None:
    server = api[0]
    status, body = call(server, q("sum(mcp_server_up)"))
    assert status == 200 and body == {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [NOW // 1000, "1"]}]},
    }
    assert call(server, q("sum((")) == (
        400,
        {
            "status": "error",
            "errorType": "bad_data",
            "error": "PromQL: cannot parse 'sum((': unclosed left parenthesis",
        },
    )
    assert call(server, q('sort_by_label(x, "a")'))[1]["errorType"] == "execution"  # refused by name
    assert call(server, "/api/v1/query")[0] == 400  # no query
    assert call(server, "/api/v1/query_range?query=up&start=10&end=5&step=1")[0] == 400
    assert (
        call(server, "/api/v1/query_range?query=up&start=0&end=100000&step=1")[1]["errorType"] == "bad_data"
    )
    assert call(server, "/api/v1/series")[1]["error"] == "no match[] parameter provided"
    for path in ("/api/v1/series?match[]=up&", "/api/v1/labels?", "/api/v1/label/host/values?"):
        status, body = call(server, path + "start=abc")  # listings do not filter by time, but check it
        assert (status, body["error"]) == (
            400,
            'invalid parameter "start": cannot parse "abc" to a valid timestamp',
        )
        assert call(server, path + "end=2026-13-01")[0] == 400
        assert call(server, path + "start=2026-12-01T00:00:00Z&end=1e10")[0] == 200
    assert call(server, "/api/v1/nope")[0] == 404
    form = urllib.parse.urlencode({"query": "count(host_cpu_utilization_ratio)", "time": NOW / 1000}).encode()
    status, body = call(server, "/api/v1/query", data=form)  # POST form, as Grafana sends
    assert status == 200 and body["data"]["result"][0]["value"][1] == "2"
    start, end = (NOW - 120_000) / 1000, NOW / 1000
    status, body = call(server, f"/api/v1/query_range?query=mcp_server_up&start={start}&end={end}&step=1m")
    assert status == 200 and [len(s["values"]) for s in body["data"]["result"]] == [3, 3]
    assert call(server, "/api/v1/status/buildinfo")[1]["data"]["version"] == "2.42.0"
    assert call(server, "/api/v1/query_exemplars?query=up&start=0&end=1")[1] == {
        "status": "success",
        "data": [],
    }


def test_tokens_and_team_scope(api: tuple[ApiServer, Store, BufferedWriter, Settings]) -> None:
    server = api[0]
    assert call(server, "/-/ready", token=None)[0] == 200  # health checks need no token
    status, body = call(server, q("up"), token=None)
    assert status == 401 and body["errorType"] == "unauthorized" and "missing" in body["error"]
    assert call(server, q("up"), token="wrong-token-0123456789")[0] == 401
    assert call(server, q("up"), token=ADMIN[:-1])[0] == 401

    def result(expr: str, token: str) -> list[dict[str, str]]:
        status, body = call(server, q(expr), token=token)
        assert status == 200, body
        return sorted((r["metric"] for r in body["data"]["result"]), key=str)

    assert result("mcp_server_up", ADMIN) == [
        {"__name__": "mcp_server_up", "host": h, "server": s, "team": t}
        for h, s, t in [("h1", "s1", "a"), ("h2", "s2", "b")]
    ]
    assert [m["team"] for m in result("mcp_server_up", TEAM_A)] == ["a"]
    assert result('mcp_server_up{team="b"}', TEAM_A) == []  # a filter never widens the scope
    assert [m["host"] for m in result("host_cpu_utilization_ratio", TEAM_A)] == ["h1"]  # hosts of team a
    assert result("pulse_own_metric", TEAM_A) == [] and len(result("pulse_own_metric", ADMIN)) == 1
    assert result('{__name__=~".+"}', TEAM_A) == result('{__name__=~".+", host="h1"}', ADMIN)
    assert call(server, "/api/v1/label/team/values", token=TEAM_A)[1]["data"] == ["a"]
    assert call(server, "/api/v1/label/host/values", token=TEAM_A)[1]["data"] == ["h1"]
    assert call(server, "/api/v1/label/team/values")[1]["data"] == ["a", "b"]
    names = call(server, "/api/v1/label/__name__/values", token=TEAM_A)[1]["data"]
    assert names == ["host_cpu_utilization_ratio", "mcp_server_up"]
    assert call(server, "/api/v1/labels", token=TEAM_A)[1]["data"] == ["__name__", "host", "server", "team"]
    series = call(
        server, "/api/v1/series?match[]=mcp_server_up&match[]=host_cpu_utilization_ratio", token=TEAM_A
    )
    assert series[1]["data"] == [
        {"__name__": "host_cpu_utilization_ratio", "host": "h1"},
        {"__name__": "mcp_server_up", "host": "h1", "server": "s1", "team": "a"},
    ]
    assert list(call(server, "/api/v1/metadata", token=TEAM_A)[1]["data"]) == names
    # read-only tokens may not write; the body is refused without being read
    status, body = call(server, "/api/v1/write", token=TEAM_A, data=b"x" * 100)
    assert status == 403 and "may not remote-write" in body["error"]


def test_query_limits(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_samples=1000)
    store = open_store(settings)
    store.write([Sample("big", labels_of(i=i), NOW - j * 1000, 1.0) for i in range(10) for j in range(200)])
    server = start_api(settings.api, store, None)
    try:
        status, body = call(server, q("sum(count_over_time(big[5m]))"))
        assert (status, body["errorType"]) == (422, "execution") and "samples" in body["error"]
        assert call(server, q("sum(count_over_time(big[50s]))"))[1]["data"]["result"][0]["value"][1] == "510"
    finally:
        server.stop()
        store.close()


def write_body(series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]) -> bytes:
    req = write_request_class()()
    for labels, points in series.items():
        ts = req.timeseries.add()
        for k, v in labels:
            ts.labels.add(name=k, value=v)
        for t, v in points:
            ts.samples.add(timestamp=t, value=v)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}


def test_remote_write_refusals(api: tuple[ApiServer, Store, BufferedWriter, Settings]) -> None:
    server, store = api[0], api[1]
    one = {(("__name__", "rw_test"), ("job", "x")): [(NOW, 1.0)]}

    def post(data: bytes, token: str = WRITER, **headers: str) -> tuple[int, Any]:
        return call(server, "/api/v1/write", token=token, data=data, **{**HEADERS, **headers})

    assert post(b"not snappy at all")[1]["error"].startswith("body is not snappy")
    assert post(bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff")))[1]["error"].startswith(
        "body is not a prometheus.WriteRequest"
    )
    assert post(bytes(cramjam.snappy.compress_raw(b"\0" * (65 << 10))))[0] == 413  # decompressed size
    assert post(b"x" * (65 << 10))[0] == 413  # compressed size
    many = {(("__name__", "rw_test"), ("i", str(i))): [(NOW, 1.0)] for i in range(101)}
    status, body = post(write_body(many))
    assert status == 413 and "101 samples" in body["error"]
    assert (
        post(write_body({(("job", "x"),): [(NOW, 1.0)]}))[1]["error"] == "a time series has no __name__ label"
    )
    assert post(write_body(one), **{"Content-Encoding": "gzip"})[0] == 415
    assert post(write_body(one), token=ADMIN)[0] == 403  # an admin reader without write = true
    assert post(write_body(one)) == (204, None)
    assert store.series("rw_test")["labels"].to_list() == [{"job": "x"}]


def test_remote_written_stale_markers_end_a_series_as_in_prometheus(
    api: tuple[ApiServer, Store, BufferedWriter, Settings],
) -> None:
    """A Prometheus sends a stale marker when a target or series goes away: the series stops at
    once for PromQL instead of lingering for the 5-minute lookback; the other series stays."""
    server, writer = api[0], api[2]
    body = write_body(
        {
            (("__name__", "rw_stale"), ("job", "gone")): [(NOW - 30_000, 1.0), (NOW - 15_000, STALE_NAN)],
            (("__name__", "rw_stale"), ("job", "kept")): [(NOW - 30_000, 2.0)],
        }
    )
    assert call(server, "/api/v1/write", token=WRITER, data=body, **HEADERS) == (204, None)
    writer.flush()
    got = call(server, q("rw_stale"))[1]["data"]["result"]
    assert [(r["metric"]["job"], r["value"][1]) for r in got] == [("kept", "2")]
    before = "/api/v1/query?" + urllib.parse.urlencode({"query": "rw_stale", "time": (NOW - 20_000) / 1000})
    assert len(call(server, before)[1]["data"]["result"]) == 2  # before the marker both were there
    counts = call(server, q("count_over_time(rw_stale[1m])"))[1]["data"]["result"]
    assert sorted((r["metric"]["job"], r["value"][1]) for r in counts) == [("gone", "1"), ("kept", "1")]


@pytest.mark.parametrize("backend", ["sqlite"])  # the outage: a SQLite lock held by another connection
def test_remote_write_during_an_outage_is_buffered_then_stored(
    api: tuple[ApiServer, Store, BufferedWriter, Settings],
) -> None:
    server, store, writer, settings = api

    @sa.event.listens_for(store.engine, "connect")
    def _short(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    store.engine.dispose()
    lock = sqlite3.connect(settings.url.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        body = write_body({(("__name__", "rw_outage"),): [(NOW - 1000, 1.0), (NOW, 2.0)]})
        status, _ = call(server, "/api/v1/write", token=WRITER, data=body, **HEADERS)
        assert status == 204 and writer.pending == 2  # accepted into the buffer: a retry would duplicate
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert writer.flush() and store.series("rw_outage").height == 1
