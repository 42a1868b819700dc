"""``pulse export grafana DIR``: Grafana dashboards, their provisioning and Prometheus' scrape config.

The files (see :mod:`core.integrations.export`) are written under DIR; copy ``dashboards/`` to the
provider's path (``/var/lib/grafana/dashboards/pulse``) and ``provisioning/`` into Grafana's
provisioning folder, and give Grafana the API token in ``PULSE_GRAFANA_TOKEN``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.kernel.settings import Settings


def cmd_grafana(args: argparse.Namespace, settings: Settings) -> int:
    from core.integrations import export  # grafana-foundation-sdk: only for this command
    from core.integrations.grafana import TOKEN_ENV

    folder = Path(args.dir)
    written = export.write(folder, settings, args.datasource_url)
    for path in written:
        print(path)
    print(
        f"wrote {len(written)} files to {folder}; Grafana reads the API token from ${TOKEN_ENV}"
        + ("" if settings.api.enabled else " (the Prometheus API is off: set api.enabled = true)")
    )
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="export_command", required=True)
    g = sub.add_parser(
        "grafana", help="write Grafana dashboards, provisioning and the Prometheus scrape config"
    )
    g.add_argument("dir", help="the folder to write (created if needed)")
    g.add_argument(
        "--datasource-url",
        default=None,
        help="the Prometheus-compatible URL Grafana queries (default: Pulse's API from settings)",
    )
    g.set_defaults(func=cmd_grafana)
