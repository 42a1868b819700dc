"""Issue 15 item 8: one line when a condition starts, one when it ends, a count in between; no line
per scrape, per MCP probe or per delivery attempt. A real ``pulse collect`` scrapes a target every
second and probes two real MCP servers (the official SDK over stdio and streamable HTTP) every
second, while an alert fires to a webhook receiver that is down for the first 20 s. Every line the
daemon writes to its log is read and counted."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from tests.bigtarget import SmallTarget
from tests.collectors.mcp_servers import SDK_SERVER, http_server, sdk_command
from tests.daemons import Daemon, sqlite_env, wait_for
from tests.receivers import Receiver

DOWN_S = 20
RULES = """groups:
  - name: noise
    interval: 1s
    rules:
      - alert: AlwaysFiring
        query: small_target_up
        over: last
        window: 1m
        op: ">="
        threshold: 0
"""
LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<msg>.*)$")
OWN = ("pulse", "core", "collectors")


def config(folder: Path, target: str, mcp_http: str, hook: str) -> Path:
    (folder / "rules.yml").write_text(RULES)
    stdio = ", ".join(f'"{part}"' for part in sdk_command())
    path = folder / "pulse.toml"
    path.write_text(
        f"""collectors = []
data_dir = "{folder / "data"}"

[alerting]
default_rules = false
rule_files = ["{folder / "rules.yml"}"]
channels = [{{type = "webhook", name = "hook", url = "{hook}"}}]
retry = {{attempts = 1, backoff_initial_s = 1, backoff_max_s = 2, jitter = 0}}

[alerting.route]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "3s"

[[sources]]
kind = "scrape"
name = "target"
url = "{target}"
interval_s = 1

[[sources]]
kind = "mcp"
name = "mcp"
interval_s = 1
servers = [
  {{name = "stdio", transport = "stdio", command = [{stdio}], tool_call = {{name = "echo", arguments = {{text = "hi"}}}}}},
  {{name = "http", transport = "http", url = "{mcp_http}", tool_call = {{name = "echo", arguments = {{text = "hi"}}}}}},
]
"""
    )
    return path


def test_an_outage_and_busy_sources_write_a_line_per_condition(tmp_path: Path) -> None:
    target = SmallTarget("t")
    hook = Receiver()  # not started: the receiver is down
    with http_server(SDK_SERVER) as mcp_url:
        cfg = config(tmp_path, target.url, mcp_url, hook.url + "/hook")
        d = Daemon(tmp_path, {**sqlite_env(tmp_path), "PULSE_CONFIG": str(cfg)})
        try:
            started = time.monotonic()
            wait_for(
                lambda: (d.value("pulse_collector_duration_seconds_count", collector="mcp") or 0) >= 3,
                timeout=60,
                what="three MCP probes",
            )
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - started)))
            hook.start()
            wait_for(lambda: len(hook.requests) >= 3, timeout=30, what="three deliveries once it is back")
            probes = d.value("pulse_collector_duration_seconds_count", collector="mcp") or 0
            scrapes = d.value("pulse_collector_duration_seconds_count", collector="target") or 0
            d.proc.terminate()
            assert d.wait() == 0, d.stderr()
        finally:
            d.kill()
            hook.stop()
            target.stop()
    lines = d.stderr().splitlines()
    parsed = [m.groupdict() for line in lines if (m := LINE.match(line))]
    assert probes >= 5 and scrapes >= 15, (probes, scrapes)
    # nothing from the HTTP and MCP libraries below a warning (httpx, httpx2, httpcore, mcp, ...)
    foreign = [p for p in parsed if p["logger"].split(".")[0] not in OWN and p["level"] in ("INFO", "DEBUG")]
    assert foreign == [], "\n".join(lines[:40])
    # the receiver's outage: one line when it starts, one when it ends, with the count
    failing = [p["msg"] for p in parsed if "repeats are counted" in p["msg"] and "channel hook" in p["msg"]]
    assert len(failing) == 1, "\n".join(lines)
    again = [p["msg"] for p in parsed if re.match(r"channel hook: delivers again after \d+ failed", p["msg"])]
    assert len(again) == 1, "\n".join(lines)
    # no other line repeats, except one per delivered notification (digits and times aside)
    shapes = Counter(
        re.sub(r"\d+", "N", p["msg"]) for p in parsed if not re.search(r" delivered \(attempt", p["msg"])
    )
    assert max(shapes.values()) == 1, shapes.most_common(3)
    # nothing but the daemon's own lines: not the stdio MCP server's stderr, no traceback
    assert [line for line in lines if not LINE.match(line)] == [], "\n".join(lines)
    print(f"\n{len(lines)} log lines for {scrapes:g} scrapes, {probes:g} MCP probes and a {DOWN_S} s outage")
