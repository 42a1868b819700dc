"""Incident errors, in Pulse's one exception tree (core.errors)."""

from core.errors import PulseError


class IncidentError(PulseError):
    """An incident operation was refused: bad input or a transition its state does not allow."""


class IncidentNotFound(IncidentError):
    """No incident has this id."""


class IncidentConflict(IncidentError):
    """The incident changed since it was read (someone else acted on it); reload and try again."""
