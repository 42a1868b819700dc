"""The kernel: what every layer may use and that uses nothing of Pulse above it.

Samples and labels, label selectors and matchers, settings models, plain records the storage
keeps (alerts, incidents), errors, units, times, CSV neutralising.
"""
