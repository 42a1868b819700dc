"""Inbound alerts: Alertmanager webhook deliveries over a real loopback HTTP server into a real
store (SQLite and PostgreSQL), every refusal with its reason, and a real Alertmanager."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from core.alerts.inbound import parse_time
from core.kernel.errors import ConfigError
from core.kernel.records.alerts import AlertState, fingerprint
from core.kernel.settings.inbound import InboundSettings
from core.runtime.inbound_http import InboundServer, start_inbound
from core.storage.repos.alert_states import load_states, read_transitions, save_states
from core.storage.repos.inbound_alerts import save_inbound
from core.storage.tsdb.store import Store
from tests.conftest import T0_MS, FakeClock
from tests.core.alerts.inbound_support import (
    TOKEN,
    WebhookAlertmanager,
    am_alert,
    payload,
    post,
    raw_request,
)
from tests.promstack import ALERTMANAGER, cleanup, free_port, require_binary

RULE = "inbound/team-a"
HOST1 = {"alertname": "HostDown", "severity": "critical", "host": "host-1"}


def inbound_settings(**kw: Any) -> InboundSettings:
    return InboundSettings(**{"enabled": True, "token": TOKEN, "port": 0, **kw})


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def server(store: Store, clock: FakeClock, registry: CollectorRegistry) -> Iterator[InboundServer]:
    srv = start_inbound(inbound_settings(), store.engine, registry, clock=clock)
    yield srv
    srv.stop()


def states(store: Store) -> dict[str, AlertState]:
    return load_states(store.engine).get(RULE, {})


def transitions(store: Store) -> list[tuple[str, str, str, int]]:
    df = read_transitions(store.engine, -(2**62), 2**62)
    return [(r["fingerprint"], r["from_state"], r["to_state"], r["at_ms"]) for r in df.iter_rows(named=True)]


def outcome(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value("pulse_inbound_requests_total", {"outcome": name}) or 0.0


# -- deliveries ------------------------------------------------------------------------------------


def test_valid_payload_lands_in_alert_states(
    server: InboundServer, store: Store, registry: CollectorRegistry
) -> None:
    body = payload(am_alert(T0_MS - 60_000, host="host-1"), am_alert(T0_MS - 30_000, host="host-2"))
    status, reply, _ = post(server.url, body)
    assert (status, reply) == (200, {"accepted": 2})
    got = states(store)
    fp1, fp2 = fingerprint(HOST1), fingerprint({**HOST1, "host": "host-2"})
    assert set(got) == {fp1, fp2}  # ours, not the sender's "0000000000000000"
    s = got[fp1]
    assert (s.state, s.active_at_ms, s.fired_at_ms, s.resolved_at_ms) == (
        "firing",
        T0_MS - 60_000,
        T0_MS - 60_000,
        None,
    )
    assert s.labels == HOST1 and s.annotations == {"summary": "host stopped answering"}
    assert s.last_active_ms == T0_MS  # when Pulse last heard of it
    assert sorted(transitions(store)) == sorted(
        [(fp1, "inactive", "firing", T0_MS - 60_000), (fp2, "inactive", "firing", T0_MS - 30_000)]
    )
    assert outcome(registry, "accepted") == 1
    assert registry.get_sample_value("pulse_inbound_alerts_total", {"status": "firing"}) == 2


def test_repeated_delivery_is_idempotent(
    server: InboundServer, store: Store, clock: FakeClock, registry: CollectorRegistry
) -> None:
    body = payload(am_alert(T0_MS - 60_000, host="host-1"), am_alert(T0_MS - 60_000, host="host-2"))
    assert post(server.url, body)[0] == 200
    first, moves = states(store), transitions(store)
    for _ in range(3):  # Alertmanager re-sends every group_interval / repeat_interval
        clock.advance(60)
        assert post(server.url, body)[:2] == (200, {"accepted": 2})
    again = states(store)
    assert transitions(store) == moves and len(moves) == 2
    assert {fp: (s.state, s.fired_at_ms, s.labels) for fp, s in again.items()} == {
        fp: (s.state, s.fired_at_ms, s.labels) for fp, s in first.items()
    }
    assert {s.last_active_ms for s in again.values()} == {clock.ms}
    assert outcome(registry, "accepted") == 4


def test_resolution_and_firing_again(server: InboundServer, store: Store, clock: FakeClock) -> None:
    fp = fingerprint(HOST1)
    start, end = T0_MS - 120_000, T0_MS - 10_000
    assert post(server.url, payload(am_alert(start, host="host-1")))[0] == 200
    resolved = payload(am_alert(start, "resolved", end, host="host-1"))
    assert post(server.url, resolved)[0] == 200
    s = states(store)[fp]
    assert (s.state, s.fired_at_ms, s.resolved_at_ms) == ("resolved", start, end)
    assert post(server.url, resolved)[0] == 200  # re-sent resolution: no new transition
    # a late copy of the firing notification (same startsAt) must not re-open it
    assert post(server.url, payload(am_alert(start, host="host-1")))[0] == 200
    assert states(store)[fp].state == "resolved"
    assert transitions(store) == [(fp, "inactive", "firing", start), (fp, "firing", "resolved", end)]
    # firing again: a newer startsAt
    clock.advance(60)
    again = T0_MS + 30_000
    assert post(server.url, payload(am_alert(again, host="host-1")))[0] == 200
    s = states(store)[fp]
    assert (s.state, s.fired_at_ms, s.resolved_at_ms) == ("firing", again, None)
    assert transitions(store)[-1] == (fp, "resolved", "firing", again)
    # a stale resolution of the previous firing arrives late: ignored
    assert post(server.url, resolved)[0] == 200
    assert states(store)[fp].state == "firing"


def test_mixed_payload_and_receivers(server: InboundServer, store: Store) -> None:
    body = payload(
        am_alert(T0_MS - 5000, host="host-1"),
        am_alert(T0_MS - 9000, "resolved", T0_MS - 1000, host="host-3"),
        receiver="db-team",
    )
    assert post(server.url, body)[:2] == (200, {"accepted": 2})
    got = load_states(store.engine)["inbound/db-team"]
    assert sorted(s.state for s in got.values()) == ["firing", "resolved"]


# -- refusals: a 4xx with the reason, nothing written ------------------------------------------

_VALID = am_alert(T0_MS, host="host-1")
_CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "malformed JSON": ({"body": b'{"version": "4", "alerts": [}'}, 400, "invalid JSON: Expecting value"),
    "not an object": ({"body": b"[1, 2]"}, 400, "payload: must be a JSON object, got list"),
    "wrong version": ({"body": payload(_VALID, version="3")}, 400, 'version: must be "4"'),
    "numeric version": ({"body": payload(_VALID, version=4)}, 400, 'version: must be "4"'),
    "missing alertname": (
        {"body": payload(_VALID, _VALID, _VALID, {**_VALID, "labels": {"host": "h"}})},
        400,
        "alerts[3].labels: alertname is required",
    ),
    "bad time": (
        {"body": payload(_VALID, {**_VALID, "startsAt": "2024-13-01 10:00"})},
        400,
        "alerts[1].startsAt: must be an RFC 3339 time",
    ),
    "zero start": (
        {"body": payload({**_VALID, "startsAt": "0001-01-01T00:00:00Z"})},
        400,
        "alerts[0].startsAt: must be the time the alert started",
    ),
    "bad status": (
        {"body": payload({**_VALID, "status": "firng"})},
        400,
        "alerts[0].status: input should be",
    ),
    "label not a string": (
        {"body": payload({**_VALID, "labels": {"alertname": "X", "port": 9100}})},
        400,
        "alerts[0].labels.port: input should be a valid string",
    ),
    "no alerts": (
        {"body": {k: v for k, v in payload(_VALID).items() if k != "alerts"}},
        400,
        "alerts: field required",
    ),
    "deeply nested": ({"body": b"[" * 200_000}, 400, "nested too deeply"),
    "2 MB body": ({"body": b"{" + b" " * (2 << 20) + b"}"}, 413, "over the limit of 1048576 bytes"),
    "5000 alerts": (
        {"body": payload(*[{"status": "firing", "labels": {"alertname": f"a{i}"}} for i in range(5000)])},
        413,
        "alerts: 5000 alerts, more than the 1000 accepted",
    ),
    "wrong token": (
        {"body": payload(_VALID), "token": "not-the-token-0123456789"},
        401,
        "invalid bearer token",
    ),
    "no token": ({"body": payload(_VALID), "token": None}, 401, "missing bearer token"),
    "wrong path": ({"body": payload(_VALID), "path": "/api/v2/alerts"}, 404, "no such path"),
    "wrong method": ({"body": b"", "method": "GET"}, 405, "only POST is accepted"),
    "not JSON content": (
        {"body": payload(_VALID), "content_type": "text/plain"},
        415,
        "must be application/json",
    ),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_refusals_say_why_and_write_nothing(
    case: str, server: InboundServer, store: Store, registry: CollectorRegistry
) -> None:
    kw, want_status, want_reason = _CASES[case]
    status, reply, headers = post(server.url, **kw)
    assert status == want_status
    assert want_reason in reply["error"]
    assert TOKEN not in reply["error"]
    assert load_states(store.engine) == {} and transitions(store) == []
    assert sum(outcome(registry, o) for o in ("accepted", "error", "unavailable")) == 0
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")
    if status == 405:
        assert headers["allow"] == "POST"


def test_length_required_and_short_bodies(
    server: InboundServer, store: Store, registry: CollectorRegistry
) -> None:
    path = server.url.split(":", 2)[2].split("/", 1)[1]
    base = (
        f"POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json"
    )
    body = json.dumps(payload(_VALID)).encode()
    status, reply = raw_request(server.url, (base + "\r\nTransfer-Encoding: chunked").encode(), b"0\r\n\r\n")
    assert (status, reply["error"]) == (411, "Content-Length is required (chunked bodies are not accepted)")
    status, reply = raw_request(server.url, (base + "\r\nContent-Length: 1000").encode(), body[:100])
    assert (status, reply["error"]) == (400, "body ended after 100 of 1000 bytes")
    status, reply = raw_request(server.url, (base + "\r\nContent-Length: -5").encode(), body)
    assert status == 400 and "Content-Length" in reply["error"]
    # an announced oversized body is refused before a byte of it is read
    status, reply = raw_request(
        server.url, (base + f"\r\nContent-Length: {5 << 20}").encode(), read_first=True
    )
    assert status == 413
    assert outcome(registry, "length_required") == 1 and outcome(registry, "too_large") == 1
    assert load_states(store.engine) == {}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_silent_client_is_dropped(store: Store, registry: CollectorRegistry) -> None:
    srv = start_inbound(inbound_settings(read_timeout_s=0.5), store.engine, registry)
    try:
        path = srv.url.split(":", 2)[2].split("/", 1)[1]
        head = f"POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 50"
        status, reply = raw_request(srv.url, head.encode(), read_first=True)
        assert (status, reply["error"]) == (408, "the body did not arrive in time")
    finally:
        srv.stop()


# -- junk never breaks it ------------------------------------------------------------------------------

# every code point, lone surrogates and NUL included (JSON escapes them; neither fits PostgreSQL)
_any_text = st.text(st.characters(exclude_categories=()), max_size=20) | st.sampled_from(
    ["\ud800", "x\udfff", "\x00", "nul\x00", "\u2028", "\ufeff", "é" * 3]
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_time_text = st.sampled_from(
    ["2024-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "x", ""]
) | st.text(max_size=30)
_alert = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["firing", "resolved", "FIRING", ""]) | _json,
        "labels": st.dictionaries(
            st.sampled_from(["alertname", "host", ""]) | st.text(max_size=5),
            st.text(max_size=5) | _json,
            max_size=3,
        )
        | _json,
        "annotations": st.dictionaries(st.text(max_size=5), st.text(max_size=5)) | _json,
        "startsAt": _time_text | _json,
        "endsAt": _time_text | _json,
        "fingerprint": st.text(max_size=20) | _json,
    },
)
_payload = st.fixed_dictionaries(
    {"version": st.sampled_from(["4", "4", 4, "5"])},
    optional={
        "receiver": st.text(max_size=400) | _json,
        "status": st.sampled_from(["firing", "resolved"]) | _json,
        "alerts": st.lists(_alert, max_size=5) | _json,
        "truncatedAlerts": st.integers() | _json,
    },
)
_valid_alert = st.builds(
    lambda start, status, host, ends: am_alert(
        start, status, ends if status == "resolved" else None, host=host
    ),
    st.integers(0, 2**41),
    st.sampled_from(["firing", "resolved"]),
    st.text(min_size=1, max_size=10) | _any_text,
    st.integers(0, 2**41),
)
_valid = st.builds(
    lambda alerts, receiver: payload(*alerts, receiver=receiver),
    st.lists(_valid_alert, max_size=4),
    st.text(min_size=1, max_size=30) | _any_text,
)


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid payload with one field replaced by junk."""
    p = draw(_valid)
    target: dict[str, Any] = p
    if p["alerts"] and draw(st.booleans()):
        target = draw(st.sampled_from(p["alerts"]))
    key = draw(st.sampled_from(sorted(target)))
    target[key] = draw(_json | _time_text)
    return p


def test_junk_never_yields_a_server_error(server: InboundServer, registry: CollectorRegistry) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=(_payload | _valid | _mutated()).map(lambda p: json.dumps(p).encode())
        | _json.map(lambda v: json.dumps(v).encode())
        | st.binary(max_size=200)
    )
    def check(body: bytes) -> None:
        status, reply, _ = post(server.url, body)
        seen[status] = seen.get(status, 0) + 1
        assert status in (200, 400, 413), reply
        assert "error" in reply or "accepted" in reply

    seen: dict[int, int] = {}
    check()
    assert seen.get(200) and seen.get(400), seen  # both valid and invalid payloads were tried
    assert outcome(registry, "error") == 0 and outcome(registry, "unavailable") == 0


# -- settings, server, storage -----------------------------------------------------------------------


def test_settings_need_a_token_and_never_echo_it() -> None:
    with pytest.raises(ValidationError, match="token is required when inbound alerts are enabled"):
        InboundSettings(enabled=True)
    with pytest.raises(ValidationError, match="at least 16 characters") as err:
        InboundSettings(enabled=True, token="hunter2-short")
    assert "hunter2" not in str(err.value)
    with pytest.raises(ValidationError, match="extra"):
        InboundSettings.model_validate({"enabled": False, "tokn": "x"})
    with pytest.raises(ValidationError, match="path"):
        InboundSettings(path="api/alerts")
    s = InboundSettings()
    assert (s.enabled, s.host, s.port, s.path, s.max_body_bytes, s.max_alerts) == (
        False,
        "127.0.0.1",
        9465,
        "/api/alerts/inbound",
        1 << 20,
        1000,
    )
    assert TOKEN not in repr(inbound_settings())


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_busy_port_is_a_config_error(store: Store) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="setting 'alerting.inbound.port'"):
            start_inbound(inbound_settings(port=port), store.engine)


def test_parse_time() -> None:
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("2023-11-15T00:00:00Z") == T0_MS
    assert parse_time("2023-11-15T01:00:00.123456789+01:00") == T0_MS + 123
    assert parse_time("2023-11-14T23:59:59.5-00:00") == T0_MS - 500
    for bad in (
        "2023-11-15",
        "2023-11-15 00:00:00Z",
        "2023-02-30T00:00:00Z",
        "2023-11-15T00:00:00",
        "1700006400",
    ):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_save_inbound_prunes_old_resolutions_only(store: Store) -> None:
    def st_(rule: str, fp_host: str, state: str, at: int) -> AlertState:
        labels = {**HOST1, "host": fp_host}
        resolved = at if state == "resolved" else None
        return AlertState(
            rule, fingerprint(labels), labels, {}, state, at - 1000, at - 1000, resolved, at, None
        )  # type: ignore[arg-type]

    own = st_(
        "pulse/HostDown", "host-9", "resolved", T0_MS - 3_600_000
    )  # the rule engine's: not ours to prune
    save_states(store.engine, ["pulse/HostDown"], [own], [])
    moves = save_inbound(
        store.engine, [st_(RULE, "host-1", "resolved", T0_MS - 3_600_000)], prune_before_ms=T0_MS - 900_000
    )
    assert moves == []  # resolved long ago and never seen firing: not stored
    save_inbound(store.engine, [st_(RULE, "host-2", "firing", T0_MS - 3_600_000)])
    moves = save_inbound(
        store.engine, [st_(RULE, "host-2", "resolved", T0_MS - 1_800_000)], prune_before_ms=T0_MS - 900_000
    )
    assert [(m.from_state, m.to_state) for m in moves] == [("firing", "resolved")]  # recorded, then pruned
    assert RULE not in load_states(store.engine)
    assert load_states(store.engine)["pulse/HostDown"][own.fingerprint] == own


# -- the real thing --------------------------------------------------------------------------------


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:g}s")


def test_real_alertmanager_delivers_into_pulse(
    tmp_path: Path, store: Store, registry: CollectorRegistry
) -> None:
    require_binary(ALERTMANAGER, "prometheus-alertmanager")
    srv = start_inbound(inbound_settings(port=free_port()), store.engine, registry)  # the real clock
    root = tmp_path / "am"
    am = WebhookAlertmanager(root, srv.url, TOKEN, receiver="platform")
    try:
        am.start()
        labels = {"alertname": "DiskFilling", "severity": "warning", "host": "db-1", "mountpoint": "/var"}
        started = int(time.time() * 1000) - 5000
        alert = {
            "labels": labels,
            "annotations": {"summary": "/var on db-1 is 93% full"},
            "startsAt": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(started / 1000))}Z",
            "generatorURL": "http://prometheus.example.com/graph",
        }
        am.post_alerts([alert])
        theirs = _wait(lambda: am.alerts())[0]["fingerprint"]
        rule = "inbound/platform"
        s = _wait(lambda: load_states(store.engine).get(rule, {}).get(theirs))
        assert theirs == fingerprint(labels)
        assert (s.state, s.labels, s.annotations["summary"]) == ("firing", labels, "/var on db-1 is 93% full")
        assert abs(s.fired_at_ms - started) < 1000
        # Prometheus resolves it: endsAt in the past; Alertmanager sends the resolution
        am.post_alerts([{**alert, "endsAt": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z"}])
        s = _wait(lambda: (x := load_states(store.engine)[rule][theirs]).state == "resolved" and x)
        assert s.resolved_at_ms is not None and s.resolved_at_ms >= s.fired_at_ms
        moves = [(f, a, b) for f, a, b, _ in transitions(store)]
        assert moves == [(theirs, "inactive", "firing"), (theirs, "firing", "resolved")]
        assert outcome(registry, "unauthorized") == 0 and outcome(registry, "accepted") >= 2
    finally:
        am.stop()
        srv.stop()
        cleanup(root)
