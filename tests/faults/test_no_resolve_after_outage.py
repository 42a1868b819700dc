"""Found while trying issue 15 by hand: after a PostgreSQL outage longer than a rule's window, the
leader evaluated its rules before the samples held during the outage were written back, saw no
data, resolved an alert that still held and fired it again seconds later: two notifications that
were never true. Rules now wait until the store has what was collected. A real ``pulse collect``
on a throwaway cluster reached through a proxy that is cut for longer than the rule's window."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import ThrowawayCluster
from tests.daemons import Daemon, proxied, wait_for
from tests.faults.helpers import cluster  # noqa: F401
from tests.receivers import Receiver, receiver  # noqa: F401

OUTAGE_S = 25
RULES = """groups:
  - name: up
    interval: 1s
    rules:
      - alert: HostSeen
        query: host_up
        over: last
        window: 15s
        op: ">="
        threshold: 0
"""


def config(folder: Path, hook: str) -> Path:
    (folder / "rules.yml").write_text(RULES)
    cfg = folder / "pulse.toml"
    cfg.write_text(
        f"""collectors = ["host"]
data_dir = "{folder / "data"}"

[host]
interval_s = 1

[alerting]
default_rules = false
rule_files = ["{folder / "rules.yml"}"]
channels = [{{type = "webhook", name = "hook", url = "{hook}"}}]

[alerting.route]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "1h"
"""
    )
    return cfg


def notified(hook: Receiver) -> list[tuple[str, str]]:
    return [(b["status"], b["idempotencyKey"]) for b in hook.bodies("/hook")]


def test_an_alert_that_holds_through_an_outage_is_not_resolved_after_it(
    cluster: tuple[ThrowawayCluster, str],  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    _, url = cluster
    proxy, through = proxied(url)
    cfg = config(tmp_path, f"{receiver.url}/hook")
    env = {
        "PULSE_DATABASE_URL": through,
        "PULSE_CONFIG": str(cfg),
        "PULSE_DATABASE__CONNECT_TIMEOUT_S": "2",
        # the leader is back within half a second; the writer's next retry comes up to 10 s later
        "PULSE_CLUSTER__POLL_S": "0.5",
    }
    d = Daemon(tmp_path, env)
    try:
        wait_for(lambda: len(receiver.requests) >= 1, timeout=60, what="the alert notified")
        time.sleep(3)  # the delivery recorded (cut while it is written, it is re-sent: at least once)
        proxy.cut()
        time.sleep(OUTAGE_S)
        proxy.start()
        wait_for(lambda: d.value("pulse_buffered_samples") == 0, timeout=60, what="the spool written back")
        time.sleep(10)  # several evaluations and notify ticks with every sample in the store
        d.proc.terminate()
        assert d.wait() == 0, d.stderr()
    finally:
        d.kill()
        proxy.cut()
    got = notified(receiver)
    # one notification: firing (a re-send would carry the same key, which receivers drop)
    assert {status for status, _ in got} == {"firing"} and len({key for _, key in got}) == 1, (
        got,
        d.stderr(),
    )
