"""Alerting: rules, their evaluation and state, noise reduction, routing, channels, incidents."""
