"""Grafana dashboards of :mod:`core.integrations.panels`, built with grafana-foundation-sdk's
builders (never hand-written JSON), and their provisioning files (data source, dashboard provider).

The data source is Prometheus-typed: Pulse's own Prometheus API (``[api]``, docs/prometheus-api.md)
with a bearer token from the environment, or any Prometheus holding the same metrics.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from core.integrations.panels import BOARDS, Board, Panel
from core.kernel.settings import Settings

DATASOURCE_UID = "pulse-prometheus"
DATASOURCE_NAME = "Pulse"
TOKEN_ENV = "PULSE_GRAFANA_TOKEN"  # Grafana expands $VARS in provisioning files
FOLDER = "Pulse"
GREEN, RED = "green", "red"


def datasource_ref() -> model.DataSourceRef:
    return model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)


def _thresholds(line_at: float | None) -> db.ThresholdsConfig:
    steps = [model.Threshold(value=None, color=GREEN)]
    if line_at is not None:
        steps.append(model.Threshold(value=line_at, color=RED))
    return db.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps)


def _panel(p: Panel) -> stat.Panel | timeseries.Panel:
    built: stat.Panel | timeseries.Panel
    if p.kind == "stat":
        built = stat.Panel().graph_mode(common.BigValueGraphMode.AREA)
    else:
        legend = (
            cb.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        tooltip = (
            cb.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
        built = timeseries.Panel().fill_opacity(8).line_width(2).legend(legend).tooltip(tooltip)
        if p.line_at is not None:  # drawn as a dashed line, like the budget in Pulse's view
            dashed = common.GraphTresholdsStyleMode.DASHED
            built = built.thresholds_style(cb.GraphThresholdsStyleConfig().mode(dashed))
    built = built.title(p.title).unit(p.unit).datasource(datasource_ref()).height(p.height).span(p.width)
    built = built.thresholds(_thresholds(p.line_at))
    if p.description:
        built = built.description(p.description)
    if p.max is not None:
        built = built.min(0).max(p.max)
    for i, query in enumerate(p.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + i)).range()
        built = built.with_target(target.legend_format(query.legend) if query.legend else target)
    return built


def build(board: Board) -> model.Dashboard:
    """One dashboard through the SDK's builders (its types, its JSON encoding)."""
    d = (
        db.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["pulse", "mcp"])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
    )
    for name, query in board.variables:
        d = d.with_variable(
            db.QueryVariable(name)
            .label(name.capitalize())
            .datasource(datasource_ref())
            .query(query)
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(model.VariableOption(selected=True, text="All", value="$__all"))
        )
    ids = iter(range(1, 1000))  # unique panel ids, stable from one export to the next
    for title, panels in board.rows:
        d = d.with_row(db.Row(title).id(next(ids)))
        for p in panels:
            d = d.with_panel(_panel(p).id(next(ids)))
    return d.build()


def to_json(dash: model.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (through the SDK's encoder)."""
    data: dict[str, Any] = json.loads(json.dumps(dash, cls=JSONEncoder))
    return data


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON, for every board."""
    return {f"{b.uid}.json": to_json(build(b)) for b in BOARDS}


def datasource_yaml(settings: Settings, url: str | None = None) -> str:
    """Grafana's data source provisioning: Pulse's Prometheus API (or ``url``) with a bearer token
    read from ``$PULSE_GRAFANA_TOKEN`` when Grafana starts (the token is never written here)."""
    api = settings.api
    host = "127.0.0.1" if api.host in ("0.0.0.0", "::") else api.host
    source: dict[str, Any] = {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": url or f"http://{host}:{api.port}",
        "isDefault": False,
        "editable": False,
        "jsonData": {
            "httpMethod": "POST",
            "prometheusType": "Prometheus",
            "prometheusVersion": "2.42.0",
            "timeInterval": "15s",
            "httpHeaderName1": "Authorization",
        },
        "secureJsonData": {"httpHeaderValue1": "Bearer ${" + TOKEN_ENV + "}"},
    }
    return yaml.safe_dump({"apiVersion": 1, "datasources": [source]}, sort_keys=False)


def provider_yaml(path: str = "/var/lib/grafana/dashboards/pulse") -> str:
    """Grafana's dashboard provider: load the JSON files of ``path`` into the folder "Pulse"."""
    provider = {
        "name": "pulse",
        "orgId": 1,
        "folder": FOLDER,
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 60,
        "options": {"path": path, "foldersFromFilesStructure": False},
    }
    return yaml.safe_dump({"apiVersion": 1, "providers": [provider]}, sort_keys=False)
