"""The one small exception tree of Pulse.

Every error carries a message that tells the user what went wrong and what to do;
wrap lower-level errors with ``raise PulseError(...) from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: this module stays importable from everywhere, cycle-free
    from core.kernel.samples import Sample


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
    """A collector failed; the others go on.

    Raised by ``collect()`` as this very class (or as :class:`CollectFailed`), its message is the
    whole reason the health report shows (the collector's own words: what failed and what to do);
    any other exception, a subclass included, is shown with its type name first
    (``ScrapeError: scrape of ... failed: ...``).
    """


class CollectFailed(CollectorError):
    """A failed collection that still measured something: ``samples`` (the target's ``up 0``, say)
    are written by the scheduler, which books the failure once, like any other."""

    def __init__(self, message: str, samples: Iterable[Sample] = ()) -> None:
        super().__init__(message)
        self.samples: list[Sample] = list(samples)


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


class FieldErrors(PulseError):
    """Input refused field by field: ``fields`` maps each bad field to what is wrong with it, so a
    form can show the message beside the field; ``str()`` joins them for a terminal."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = dict(fields)
