"""The demo collector: a simulated MCP Debug Host Platform, deterministic from a seed."""

from collectors.demo.collector import DemoCollector
from collectors.demo.incidents import INCIDENTS, Incident, incident_windows
from collectors.demo.topology import Topology, build_topology

__all__ = ["INCIDENTS", "DemoCollector", "Incident", "Topology", "build_topology", "incident_windows"]
