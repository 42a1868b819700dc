"""Benchmarks of MCP Pulse: ``python -m bench`` prints one table of figures and ratios."""
