"""The scrape config Pulse offers for its /metrics, used as it is by a real Prometheus
(/usr/bin/prometheus) against a real ``pulse collect``: only the target (the test's port) and the
interval (1 s, so the test does not wait 15 s) are rewritten."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from core.integrations.scrape import JOB, scrape_config
from core.kernel.settings import load_settings
from tests.daemons import Daemon
from tests.promstack import PROMETHEUS, PROMTOOL, Managed, free_port, require_binary


def test_the_snippet_names_the_configured_port(tmp_path: Path) -> None:
    s = load_settings(database_url=f"sqlite:///{tmp_path}/p.db", metrics={"host": "0.0.0.0", "port": 9555})
    (job,) = yaml.safe_load(scrape_config(s))["scrape_configs"]
    assert job["job_name"] == JOB and job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9555"]


def query(url: str, expr: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(
        f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}", timeout=5
    ) as r:
        result: list[dict[str, object]] = json.load(r)["data"]["result"]
    return result


def test_prometheus_scrapes_pulse_with_the_snippet(tmp_path: Path) -> None:
    require_binary(PROMETHEUS, "prometheus")
    env = {
        "PULSE_DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_COLLECTORS": '["host"]',
    }
    daemon = Daemon(tmp_path, env)
    prom: Managed | None = None
    try:
        port = int(daemon.url.split(":")[2].split("/")[0])
        settings = load_settings(database_url=env["PULSE_DATABASE_URL"], metrics={"port": port})
        config = yaml.safe_load(scrape_config(settings))
        config["scrape_configs"][0]["scrape_interval"] = "1s"
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, **config}))
        if Path(PROMTOOL).exists():
            check = subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
        web = free_port()
        (tmp_path / "prom").mkdir()
        prom = Managed(
            [
                PROMETHEUS,
                f"--config.file={path}",
                f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{web}",
            ],
            f"http://127.0.0.1:{web}/-/ready",
            tmp_path / "prometheus.log",
        )
        prom.start()
        url = f"http://127.0.0.1:{web}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not query(
            url, 'pulse_collector_up{job="pulse",collector="host"}'
        ):
            time.sleep(0.3)
        (up,) = query(url, 'up{job="pulse"}')
        assert up["value"][1] == "1"  # type: ignore[index]
        assert up["metric"]["instance"] == "pulse-collect"  # type: ignore[index]
        assert query(url, 'pulse_collector_up{job="pulse",collector="host"}'), (
            "Pulse's own metrics were not scraped"
        )
        with urllib.request.urlopen(f"{url}/api/v1/targets", timeout=5) as r:
            (target,) = json.load(r)["data"]["activeTargets"]
        assert target["health"] == "up" and target["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics"
    finally:
        if prom is not None:
            prom.stop()
        daemon.kill()
