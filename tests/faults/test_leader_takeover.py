"""Issue 14 item 6: two ``pulse collect`` daemons on one PostgreSQL, each scraping its own target;
the leader evaluates the rules and notifies. SIGKILL the leader mid-run: the follower takes over
within one evaluation interval, every alert state transition is notified exactly once (the one
before the kill, one during the gap, one after), and both daemons' sources were collected. A
leader killed while its request is in flight: the new leader re-sends it once, with the same
idempotency key (the documented duplicate)."""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.kernel.samples import labels_of
from core.storage.repos.health_report import read_daemons
from core.storage.repos.notifications import read_deliveries
from core.storage.schema import notification_log
from tests.daemons import Daemon, open_at, stored, wait_for
from tests.faults.cluster import EVAL_S, start_pair, takeover_seconds
from tests.receivers import Received, Receiver


def notified(receiver: Receiver) -> list[tuple[str, str, str]]:
    """(queue, status, idempotency key) of every webhook POST, in arrival order."""
    out = []
    for r in receiver.requests:
        body = r.json
        out.append((body["groupLabels"]["queue"], body["status"], r.headers.get("Idempotency-Key", "")))
    return out


def told_firing(url: str) -> bool:
    """The leader has written to its notification log that the receiver knows of a firing alert."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return any(json.loads(f) for f in conn.execute(sa.select(notification_log.c.firing)).scalars())
    finally:
        engine.dispose()


def test_sigkill_of_the_leader_hands_over_within_one_interval_without_loss_or_duplicate(
    pg_schema_url: str,
    tmp_path: Path,
    receiver: Receiver,
    daemons: list[Daemon],  # noqa: F811
) -> None:
    since_ms = int(time.time() * 1000)
    leader, follower = start_pair(tmp_path, pg_schema_url, f"{receiver.url}/hook")
    daemons += [leader.daemon, follower.daemon]
    lead, follow = leader.daemon, follower.daemon
    try:
        assert follow.next_line(timeout=10).strip() == "pulse collect: alerting: evaluated by the leader"
        assert lead.value("pulse_leader") == 1 and follow.value("pulse_leader") == 0

        # the leader notifies an alert of the follower's source (they share the database) ...
        follower.target.depths["builds"] = 500
        wait_for(
            lambda: ("builds", "firing") in [n[:2] for n in notified(receiver)], timeout=30, what="firing"
        )
        # ... and has logged it: the kill comes mid-run, after the notification, before the next
        wait_for(lambda: told_firing(pg_schema_url), what="the notification logged")
        assert follow.value("pulse_leader") == 0  # still a follower

        lead.proc.send_signal(signal.SIGKILL)
        killed_at, killed_ms = time.monotonic(), int(time.time() * 1000)
        follower.target.depths["deploys"] = 700  # a transition while there is no leader
        took = takeover_seconds(follow, killed_at)
        print(f"takeover after SIGKILL: {took:.2f} s (evaluation interval {EVAL_S} s)")
        assert took <= EVAL_S, f"the follower took over after {took:.2f} s, more than one interval"

        wait_for(
            lambda: ("deploys", "firing") in [n[:2] for n in notified(receiver)], timeout=30, what="deploys"
        )
        follower.target.depths["builds"] = 10  # a transition after the takeover
        wait_for(
            lambda: ("builds", "resolved") in [n[:2] for n in notified(receiver)], timeout=30, what="resolved"
        )
        time.sleep(EVAL_S + 1)  # a whole interval more: nothing is sent twice meanwhile
        health = {d["node"]: d for d in read_daemons_of(pg_schema_url)}
        follow.proc.send_signal(signal.SIGTERM)
        assert follow.wait() == 0, follow.stderr()
    finally:
        leader.target.stop()
        follower.target.stop()
    ended_ms = int(time.time() * 1000)

    sent = notified(receiver)
    transitions = [(q, s) for q, s, _ in sent]
    assert sorted(transitions) == [("builds", "firing"), ("builds", "resolved"), ("deploys", "firing")], sent
    assert len({k for _, _, k in sent}) == 3 and all(sent[i][2] for i in range(3))
    assert "Traceback" not in follow.stderr() and "is the leader now" in follow.stderr()

    # the health report names the new leader; the killed one's last claim does not count any more
    assert health[follower.node]["leader"] is True and health[leader.node]["leader"] is False
    assert set(health[leader.node]["collectors"]) == {leader.source}
    assert set(health[follower.node]["collectors"]) == {follower.source}

    store = open_at(pg_schema_url)
    try:
        # both daemons collected their own source; the follower went on across the takeover
        depths = stored(store, "queue_depth", since_ms, ended_ms)
        by_source: dict[str, list[int]] = {}
        for _, labels, ts in depths:
            by_source.setdefault(dict(labels)["source"], []).append(ts)
        assert by_source[leader.source] and max(by_source[leader.source]) <= killed_ms + 1000
        assert min(by_source[follower.source]) < killed_ms < max(by_source[follower.source])
        instance = follower.target.url.split("/")[2]
        assert labels_of(instance=instance, queue="deploys", source=follower.source) in {
            lb for _, lb, _ in depths
        }
        ok = read_deliveries(store.engine, since_ms, ended_ms)
        assert ok.height == 3 and ok["ok"].all()
    finally:
        store.close()


def read_daemons_of(url: str) -> list[dict[str, Any]]:
    store = open_at(url)
    try:
        return read_daemons(store)
    finally:
        store.close()


class HoldingReceiver(Receiver):
    """A webhook receiver that holds its first request open (the leader is killed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = threading.Event()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base, outer = super()._handler(), self

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                if not outer.first.is_set():
                    outer.first.set()
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    outer.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
                    time.sleep(5)  # received here; the answer never reaches the killed leader
                    return
                super().do_POST()

        return Handler


def test_a_leader_killed_mid_request_is_followed_by_one_resend_with_the_same_key(
    pg_schema_url: str,
    tmp_path: Path,
    daemons: list[Daemon],  # noqa: F811
) -> None:
    receiver = HoldingReceiver()
    receiver.start()
    try:
        leader, follower = start_pair(tmp_path, pg_schema_url, f"{receiver.url}/hook")
        daemons += [leader.daemon, follower.daemon]
        try:
            follower.target.depths["builds"] = 500
            assert receiver.first.wait(30), "the leader sent nothing"
            leader.daemon.proc.send_signal(signal.SIGKILL)  # while its request is in flight
            wait_for(lambda: len(receiver.requests) >= 2, timeout=30, what="the re-send")
            time.sleep(EVAL_S + 1)  # nothing more comes
            follower.daemon.proc.send_signal(signal.SIGTERM)
            assert follower.daemon.wait() == 0, follower.daemon.stderr()
        finally:
            leader.target.stop()
            follower.target.stop()
    finally:
        receiver.stop()
    sent = notified(receiver)
    assert [(q, s) for q, s, _ in sent] == [("builds", "firing")] * 2, sent
    assert sent[0][2] and sent[0][2] == sent[1][2]  # the documented duplicate: one, with the same key
