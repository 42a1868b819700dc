"""Two ``pulse collect`` daemons on one PostgreSQL schema, each scraping a target of its own, one
rule file, a webhook receiver: the pieces of the takeover test and of ``python -m bench takeover``."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.daemons import Daemon, open_at, wait_for

EVAL_S = 5  # the rule group's evaluation interval: the takeover must fit in it
POLL_S = 0.5  # cluster.poll_s
RULES = f"""groups:
  - name: queues
    interval: {EVAL_S}s
    rules:
      - alert: QueueStuck
        query: queue_depth
        over: last
        window: 1m
        threshold: 100
"""


class Target:
    """A /metrics endpoint serving ``queue_depth{{queue=...}}`` gauges the test sets."""

    def __init__(self, **depths: float) -> None:
        self.depths = dict(depths)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = "".join(f'queue_depth{{queue="{q}"}} {v}\n' for q, v in outer.depths.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_config(
    folder: Path, node: str, source: str, target_url: str, hook_url: str, poll_s: float = POLL_S
) -> Path:
    """The TOML of one daemon: no built-in collectors, one scrape source, the shared rule file."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder.parent / "rules.yml"
    rules.write_text(RULES)
    path = folder / "pulse.toml"
    path.write_text(
        f"""collectors = []
data_dir = "{folder / "data"}"

[cluster]
node_name = "{node}"
poll_s = {poll_s}
lost_after_s = {max(3, math.ceil(poll_s * 3))}

[scheduler]
rollup_interval_s = 5

[[sources]]
kind = "scrape"
name = "{source}"
url = "{target_url}"
interval_s = 1

[alerting]
default_rules = false
rule_files = ["{rules}"]
notify_interval_s = 0.5

[alerting.retry]
attempts = 1

[[alerting.channels]]
type = "webhook"
name = "hook"
url = "{hook_url}"

[alerting.route]
receivers = ["hook"]
group_by = ["alertname", "queue"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "1h"
"""
    )
    return path


def start_node(
    folder: Path, db_url: str, node: str, source: str, target: Target, hook_url: str, poll_s: float = POLL_S
) -> Daemon:
    """A daemon of the pair; its second line says whether it leads."""
    cfg = write_config(folder / node, node, source, target.url, hook_url, poll_s)
    return Daemon(folder, {"PULSE_CONFIG": str(cfg), "PULSE_DATABASE_URL": db_url})


def role_line(d: Daemon) -> str:
    line = d.next_line(timeout=30)
    assert line.startswith("pulse collect: node "), line
    return line.strip()


def takeover_seconds(follower: Daemon, killed_at: float, timeout: float = 30) -> float:
    """Seconds from ``killed_at`` (monotonic) until the follower reports ``pulse_leader 1``."""
    wait_for(lambda: follower.value("pulse_leader") == 1, timeout=timeout, what="the follower takes over")
    return time.monotonic() - killed_at


@dataclass
class Member:
    """One daemon of the pair, its node name, its source and the target that source scrapes."""

    daemon: Daemon
    node: str
    source: str
    target: Target


def start_pair(folder: Path, db_url: str, hook_url: str) -> tuple[Member, Member]:
    """``node-a`` then ``node-b``, scraping ``site-a`` and ``site-b``, on a schema migrated before
    either starts: (leader, follower). One after the other, on a loaded machine (two Python
    start-ups at once on two busy cores can take longer than the daemons' first-line timeout);
    the one started first leads: it takes the lock before it prints its first line."""
    open_at(db_url).close()
    members: list[Member] = []
    try:
        for s in "ab":
            target = Target(builds=10, deploys=10)
            try:
                daemon = start_node(folder, db_url, f"node-{s}", f"site-{s}", target, hook_url)
            except BaseException:
                target.stop()
                raise
            members.append(Member(daemon, f"node-{s}", f"site-{s}", target))
            line = role_line(daemon)
            assert line.endswith(
                "is the leader (leader election on PostgreSQL)"
                if s == "a"
                else "(leader election on PostgreSQL)"
            ), line
        assert "is a follower of pulse-leader:node-a" in line, line
    except BaseException:
        for m in members:
            m.daemon.kill()
            m.target.stop()
        raise
    return members[0], members[1]
