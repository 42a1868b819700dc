"""`pulse collect` with its Prometheus API, end to end on loopback: the demo collector's data read
with prometheus-api-client (admin and team-scoped tokens), a real Prometheus in agent mode
remote-writing a real node-exporter's series into Pulse, and a Prometheus rule file without a
source firing on Pulse's own store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from core.kernel.settings import load_settings
from core.storage.repos.alert_states import load_states
from core.storage.tsdb import open_store
from tests.daemons import Daemon, wait_for
from tests.promstack import NODE_EXPORTER, PROMETHEUS, Managed, NodeExporter, free_port, require_binary

ADMIN, PAYMENTS, AGENT = "admin-token-0123456789abc", "payments-token-0123456789", "agent-token-0123456789abc"
RULES = """groups:
  - name: own-store
    interval: 1s
    rules:
      - alert: NodeExporterSeen
        expr: count by (job) (node_load1) > 0
        labels: {severity: info}
        annotations: {summary: "{{ $value }} node_load1 series of job {{ $labels.job }}"}
      - alert: PaymentsServersUp
        expr: sum by (team) (mcp_server_up{team="payments"}) > 0
        labels: {severity: info}
"""


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "rules.yml").write_text(RULES)
        self.config = root / "pulse.toml"
        self.config.write_text(
            f"""database_url = "sqlite:///{root}/pulse.db"
data_dir = "{root}/data"
collectors = ["demo"]
[demo]
interval_s = 1
[alerting]
default_rules = false
prometheus_rule_files = [{{ path = "{root}/rules.yml" }}]
[api]
enabled = true
port = 0
[[api.tokens]]
name = "grafana"
token = "{ADMIN}"
[[api.tokens]]
name = "payments-grafana"
token = "{PAYMENTS}"
teams = ["payments"]
[[api.tokens]]
name = "agent"
token = "{AGENT}"
write = true
"""
        )
        self.daemon = Daemon(root, {"PULSE_CONFIG": str(self.config)})
        line = ""
        while "Prometheus API" not in line:
            line = self.daemon.next_line(timeout=30)
        self.url = line.rsplit(" at ", 1)[1].strip().removesuffix("/api/v1/")
        self.node = NodeExporter(root)
        self.node.start()
        port = free_port()
        (root / "agent.yml").write_text(
            f"""global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ['127.0.0.1:{self.node.port}']}}]
remote_write:
  - url: {self.url}/api/v1/write
    authorization: {{credentials: {AGENT}}}
    queue_config: {{batch_send_deadline: 1s, min_backoff: 100ms}}
"""
        )
        argv = [
            PROMETHEUS,
            "--enable-feature=agent",
            f"--config.file={root / 'agent.yml'}",
            f"--storage.agent.path={root / 'agent-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        self.agent = Managed(argv, f"http://127.0.0.1:{port}/-/ready", root / "agent.log")
        self.agent.start()

    def client(self, token: str) -> PrometheusConnect:
        return PrometheusConnect(self.url, headers={"Authorization": f"Bearer {token}"}, disable_ssl=True)

    def stop(self) -> None:
        self.agent.stop()
        self.node.stop()
        self.daemon.kill()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_binary(PROMETHEUS, "prometheus")
    require_binary(NODE_EXPORTER, "prometheus-node-exporter")
    s = Stack(tmp_path_factory.mktemp("promapi"))
    try:
        yield s
    finally:
        s.stop()


def test_prometheus_api_client_reads_pulse_with_admin_and_team_tokens(stack: Stack) -> None:
    admin, payments = stack.client(ADMIN), stack.client(PAYMENTS)
    wait_for(
        lambda: bool(admin.custom_query("max(count_over_time(mcp_server_up[1m])) >= 3")), 30, "demo samples"
    )
    teams = {r["metric"]["team"] for r in admin.custom_query("sum by (team) (mcp_server_up)")}
    assert "payments" in teams and len(teams) > 1
    assert [r["metric"] for r in payments.custom_query("sum by (team) (mcp_server_up)")] == [
        {"team": "payments"}
    ]
    assert payments.get_label_values("team") == ["payments"]
    payments_hosts = {
        r["metric"]["host"] for r in admin.custom_query('count by (host) (mcp_server_up{team="payments"})')
    }
    seen = {
        r["metric"]["host"] for r in payments.custom_query("count by (host) (host_cpu_utilization_ratio)")
    }
    assert seen == payments_hosts  # the hosts running payments servers (all of them in the small demo)
    end = datetime.now()
    matrix = admin.custom_query_range("sum(mcp_server_up)", end - timedelta(seconds=30), end, "1s")
    assert len(matrix) == 1 and len(matrix[0]["values"]) >= 3  # since the daemon's first samples
    assert "mcp_server_up" in admin.all_metrics() and "mcp_server_up" in payments.all_metrics()
    with pytest.raises(PrometheusApiClientException, match="bad_data"):
        admin.custom_query("sum by (")
    wrong = stack.client("not-a-token-0123456789")
    with pytest.raises(PrometheusApiClientException, match="401"):
        wrong.custom_query("up")


def test_a_prometheus_agent_remote_writes_node_exporter_into_pulse(stack: Stack) -> None:
    admin, payments = stack.client(ADMIN), stack.client(PAYMENTS)
    wait_for(lambda: bool(admin.custom_query("node_load1")), 60, "node-exporter samples via remote write")
    up = admin.custom_query('up{job="node"}')
    assert up and up[0]["value"][1] == "1" and up[0]["metric"]["instance"] == f"127.0.0.1:{stack.node.port}"
    wait_for(lambda: bool(admin.custom_query("rate(node_cpu_seconds_total[10s])")), 30, "two cpu samples")
    cpus = admin.custom_query('sum by (mode) (rate(node_cpu_seconds_total{job="node"}[10s]))')
    assert {"idle", "user", "system"} <= {r["metric"]["mode"] for r in cpus}
    store = open_store(load_settings(database_url=f"sqlite:///{stack.root}/pulse.db"), migrate=False)
    try:
        names = [m for m in store.metrics() if m.startswith("node_")]
        assert "node_cpu_seconds_total" in names and "node_memory_MemTotal_bytes" in names
        assert store.series('node_cpu_seconds_total{mode="idle"}').height >= 1
        rejects = store.rejects()
        assert rejects.filter(rejects["metric"].str.starts_with("node_")).is_empty(), rejects
    finally:
        store.close()
    agent_log = stack.agent.log.read_text()
    assert "non-recoverable" not in agent_log and "Failed to send batch" not in agent_log, agent_log[-2000:]
    assert payments.custom_query("node_load1") == []  # no team, no host label: outside any team's scope
    req = urllib.request.Request(
        f"{stack.url}/api/v1/write", data=b"garbage", headers={"Authorization": f"Bearer {AGENT}"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 400 and json.loads(exc.value.read())["errorType"] == "bad_data"


def test_a_prometheus_rule_file_without_source_fires_on_pulses_store(stack: Stack) -> None:
    store = open_store(load_settings(database_url=f"sqlite:///{stack.root}/pulse.db"), migrate=False)

    def firing() -> dict[str, dict[str, str]]:
        out = {}
        for rule, states in load_states(store.engine).items():
            for st in states.values():
                if st.state == "firing":
                    out[rule] = {**st.labels, "summary": st.annotations.get("summary", "")}
        return out

    try:
        wait_for(
            lambda: {"own-store/NodeExporterSeen", "own-store/PaymentsServersUp"} <= set(firing()),
            60,
            "rules fire",
        )
        got = firing()
        assert got["own-store/NodeExporterSeen"]["job"] == "node"
        assert got["own-store/NodeExporterSeen"]["summary"] == "1 node_load1 series of job node"
        assert got["own-store/PaymentsServersUp"]["team"] == "payments"
    finally:
        store.close()
    for token, names in [
        (ADMIN, {"NodeExporterSeen", "PaymentsServersUp"}),
        (PAYMENTS, {"PaymentsServersUp"}),  # a team token sees only alerts with its team label
    ]:
        req = urllib.request.Request(
            f"{stack.url}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            alerts = json.load(resp)["data"]["alerts"]
        shown = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
        assert shown == names and all(a["activeAt"].endswith("Z") for a in alerts)


def test_no_token_reaches_the_daemon_output(stack: Stack) -> None:
    wrong = stack.client("wrong-token-0123456789-secret")
    with pytest.raises(PrometheusApiClientException):
        wrong.custom_query("up")
    text = stack.daemon.stdout() + stack.daemon.stderr()
    assert "Prometheus API and remote write at" in text
    for secret in (ADMIN, PAYMENTS, AGENT, "wrong-token-0123456789-secret"):
        assert secret not in text


def test_a_target_that_goes_away_ends_its_series_at_once(stack: Stack) -> None:
    """Last (it stops the node-exporter): the agent's scrape fails, it remote-writes stale markers
    for the target's series and ``up`` 0, and PromQL on Pulse drops the series within seconds, as
    Prometheus does, instead of showing the last values for the 5-minute lookback."""
    admin = stack.client(ADMIN)
    wait_for(lambda: bool(admin.custom_query("node_load1")), 60, "node-exporter samples via remote write")
    stack.node.stop()
    wait_for(lambda: admin.custom_query("node_load1") == [], 30, "node_load1 gone after its stale marker")
    up = admin.custom_query('up{job="node"}')
    assert up and up[0]["value"][1] == "0"
    assert admin.custom_query("count_over_time(node_load1[10m])")  # the samples before it are kept
