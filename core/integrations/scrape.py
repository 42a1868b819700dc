"""The Prometheus scrape config of Pulse's own /metrics (``[metrics]`` host and port)."""

from __future__ import annotations

import yaml

from core.kernel.settings import Settings

JOB = "pulse"


def scrape_config(settings: Settings, target: str | None = None, interval: str = "15s") -> str:
    """A ``scrape_configs`` entry for ``pulse collect``'s /metrics, ready to paste into
    prometheus.yml; the target is ``metrics.host:metrics.port`` unless given (a wildcard address
    is replaced by this machine's loopback: put the host name Prometheus reaches it by)."""
    m = settings.metrics
    host = "127.0.0.1" if m.host in ("0.0.0.0", "::", "") else m.host
    job = {
        "job_name": JOB,
        "scrape_interval": interval,
        "metrics_path": "/metrics",
        "static_configs": [
            {"targets": [target or f"{host}:{m.port}"], "labels": {"instance": "pulse-collect"}}
        ],
    }
    return yaml.safe_dump({"scrape_configs": [job]}, sort_keys=False)
