"""The one small exception tree of Pulse.

Every error carries a message that tells the user what went wrong and what to do;
wrap lower-level errors with ``raise PulseError(...) from exc``.
"""


class PulseError(Exception):
    """Base of every error Pulse raises on purpose."""


class ConfigError(PulseError):
    """A setting is missing, malformed or out of range."""


class StorageError(PulseError):
    """The database cannot be reached, is corrupt or refused a write."""


class StorageUnavailable(StorageError):
    """The database is unreachable or locked right now; retrying later may succeed."""


class QueryError(PulseError):
    """A query is malformed: bad matcher, unknown aggregation, empty range."""


class CollectorError(PulseError):
    """A collector failed; the others go on."""


class AuthError(PulseError):
    """A user, role, team or password is invalid, or a sign-in was refused."""


class PermissionDenied(AuthError):
    """The signed-in user may not do this; the message says who and what."""


class IncidentError(PulseError):
    """An incident operation was refused: bad input or a transition its state does not allow."""


class IncidentNotFound(IncidentError):
    """No incident has this id."""


class IncidentConflict(IncidentError):
    """The incident changed since it was read (someone else acted on it); reload and try again."""
