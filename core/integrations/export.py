"""Everything Grafana and Prometheus need, as files: ``pulse export grafana DIR`` and the downloads
of the self-monitoring view.

Layout (relative paths)::

    dashboards/pulse-health.json ...               the dashboards (Grafana's JSON model)
    provisioning/datasources/pulse.yaml             the data source (Pulse's Prometheus API)
    provisioning/dashboards/pulse.yaml              the dashboard provider (reads dashboards/)
    prometheus/pulse-scrape.yaml                    the scrape config of Pulse's /metrics
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from core.integrations import grafana
from core.integrations.scrape import scrape_config
from core.kernel.errors import ConfigError
from core.kernel.settings import Settings

DASHBOARDS_DIR = "/var/lib/grafana/dashboards/pulse"


def files(settings: Settings, datasource_url: str | None = None) -> dict[str, bytes]:
    """Relative path -> content of every file of the export."""
    out = {
        f"dashboards/{name}": (json.dumps(d, indent=2) + "\n").encode()
        for name, d in grafana.dashboards().items()
    }
    out["provisioning/datasources/pulse.yaml"] = grafana.datasource_yaml(settings, datasource_url).encode()
    out["provisioning/dashboards/pulse.yaml"] = grafana.provider_yaml(DASHBOARDS_DIR).encode()
    out["prometheus/pulse-scrape.yaml"] = scrape_config(settings).encode()
    return out


def write(folder: Path, settings: Settings, datasource_url: str | None = None) -> list[Path]:
    """Write the export under ``folder`` (created if needed); returns the files written."""
    written = []
    try:
        for rel, content in files(settings, datasource_url).items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the Grafana export to {folder}: {exc.strerror or exc}") from exc
    return written


def zip_bytes(settings: Settings) -> bytes:
    """The export as one zip archive (the view's download)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, content in files(settings).items():
            z.writestr(f"pulse-grafana/{rel}", content)
    return buf.getvalue()
