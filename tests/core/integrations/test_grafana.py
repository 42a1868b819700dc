"""The Grafana export: each dashboard loaded back through grafana-foundation-sdk's types, Grafana's
structural rules, the provisioning files, and every panel's PromQL run against Pulse's Prometheus
API (a real HTTP server on loopback) over a demo store with Pulse's own figures recorded."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus, stat, timeseries
from prometheus_client import CollectorRegistry

from core.integrations import grafana
from core.integrations.panels import BOARDS, concrete
from core.kernel.samples import Sample
from core.kernel.settings import load_settings
from core.runtime.backfill import backfill_demo
from core.runtime.promapi import ApiServer, start_api
from core.runtime.selfstats import daemon_samples, process_samples
from core.runtime.spool import BufferedWriter
from core.storage.tsdb import open_store

TOKEN = "grafana-token-0123456789"
plugins.register_default_plugins()  # panel options and queries decode to their typed models


def panels_of(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in d["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("name", [f"{b.uid}.json" for b in BOARDS])
def test_each_dashboard_loads_back_through_the_sdk_types(name: str) -> None:
    data = grafana.dashboards()[name]
    back = model.Dashboard.from_json(data)
    assert json.loads(json.dumps(back, cls=JSONEncoder)) == data  # nothing unknown, nothing lost
    typed = [p for p in back.panels or [] if isinstance(p, model.Panel)]
    assert len(typed) == len(panels_of(data)) > 0
    for p in typed:
        assert isinstance(p.options, timeseries.Options | stat.Options), p.title
        assert p.targets and all(isinstance(t, prometheus.Dataquery) for t in p.targets), p.title
        assert p.datasource is not None and p.datasource.uid == grafana.DATASOURCE_UID


@pytest.mark.parametrize("name", [f"{b.uid}.json" for b in BOARDS])
def test_each_dashboard_keeps_grafanas_rules(name: str) -> None:
    """What Grafana's dashboard schema requires beyond the types: uid 8-40 characters, unique
    panel ids, a 24-column grid without overlaps, unique refIds per panel, schemaVersion set."""
    data = grafana.dashboards()[name]
    assert 8 <= len(data["uid"]) <= 40 and data["schemaVersion"] >= 36 and data["title"]
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    cells: set[tuple[int, int]] = set()
    for p in data["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
    for p in panels_of(data):
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)) and all(refs) and all(t["expr"] for t in p["targets"])


def test_provisioning_points_grafana_at_pulses_api(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/p.db", api={"port": 9999, "host": "0.0.0.0"})
    (ds,) = yaml.safe_load(grafana.datasource_yaml(settings))["datasources"]
    assert ds["type"] == "prometheus" and ds["uid"] == grafana.DATASOURCE_UID
    assert ds["url"] == "http://127.0.0.1:9999"
    assert ds["jsonData"]["httpHeaderName1"] == "Authorization"
    assert ds["secureJsonData"]["httpHeaderValue1"] == "Bearer ${PULSE_GRAFANA_TOKEN}"
    (prov,) = yaml.safe_load(grafana.provider_yaml("/x"))["providers"]
    assert prov["type"] == "file" and prov["options"]["path"] == "/x" and prov["folder"] == "Pulse"


# -- every panel's PromQL against Pulse's Prometheus API ---------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("grafana")
    settings = load_settings(
        database_url=f"sqlite:///{folder}/p.db",
        data_dir=folder,
        api={"enabled": True, "port": 0, "tokens": [{"name": "grafana", "token": TOKEN}]},
    )
    store = open_store(settings)
    backfill_demo(store, settings, days=0.25, progress=False)
    now = int(time.time() * 1000)
    registry = CollectorRegistry()
    samples: list[Sample] = []
    for i in range(60, -1, -1):  # an hour of Pulse's own figures, every minute, as the daemon writes them
        ts = now - i * 60_000
        samples += daemon_samples(store, registry, {"rollups": 0.2, "flush": 0.01}, folder, 0, lambda: 0, ts)
        samples += [s._replace(value=s.value + i) for s in process_samples("ui", ts)]
        samples.append(Sample("pulse_samples_rejected_total", (("reason", "too_old"),), ts, float(60 - i)))
        samples.append(Sample("pulse_ingest_lag_seconds", (), ts, 0.5))
    store.write(samples)
    server = start_api(settings.api, store, BufferedWriter(store, folder / "spool", 1000))
    yield server
    server.stop()
    store.close()


def get(server: ApiServer, path: str, **params: str) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{server.url}{path}?{urllib.parse.urlencode(params)}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


TARGETS = [
    (b.uid, p.title, query.expr)
    for b in BOARDS
    for _, panels in b.rows
    for p in panels
    for query in p.queries
]


@pytest.mark.parametrize(
    ("board", "panel", "expr"), TARGETS, ids=[f"{b}:{p}:{i}" for i, (b, p, _) in enumerate(TARGETS)]
)
def test_every_panel_query_returns_data_from_pulses_api(
    api: ApiServer, board: str, panel: str, expr: str
) -> None:
    end = time.time()
    body = get(
        api, "/api/v1/query_range", query=concrete(expr), start=str(end - 3600), end=str(end), step="60"
    )
    assert body["status"] == "success", body
    result = body["data"]["result"]
    assert result, f"{board} / {panel}: no series for {concrete(expr)}"
    assert any(v[1] not in ("NaN", "+Inf", "-Inf") for series in result for v in series["values"])


@pytest.mark.parametrize("board", [b for b in BOARDS if b.variables], ids=lambda b: b.uid)
def test_the_variables_have_values(api: ApiServer, board: Any) -> None:
    for name, query in board.variables:
        metric = query.removeprefix("label_values(").split(",")[0]
        body = get(api, f"/api/v1/label/{name}/values", **{"match[]": metric})
        assert body["status"] == "success" and body["data"], f"{board.uid}: ${name}"
