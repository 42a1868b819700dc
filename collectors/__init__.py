"""Collectors turn a source into samples. They know nothing of storage or screens."""
