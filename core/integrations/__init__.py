"""Pulse in the Prometheus ecosystem: Grafana dashboards and their provisioning, the scrape config
of Pulse's /metrics. Text and JSON built from settings; nothing here touches the store."""
