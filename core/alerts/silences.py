"""Silences: matchers and a time window during which matching alerts are not notified.

As in Alertmanager, a silence needs at least one matcher that does not match the empty string
(so it cannot silence everything by accident), an end after its start, an author and a comment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from core.kernel.matchers import parse_matchers
from core.kernel.records.notifications import Silence


def new_silence(
    matchers: Iterable[str], starts_ms: int, ends_ms: int, created_by: str, comment: str, now_ms: int
) -> Silence:
    """A validated silence; ValueError says what is wrong in words a form can show."""
    parsed = parse_matchers(list(matchers))
    if not parsed:
        raise ValueError('a silence needs at least one matcher, e.g. alertname="HostDown"')
    if all(m.matches({}) for m in parsed):
        raise ValueError("at least one matcher must not match an empty label (it would silence everything)")
    if ends_ms <= starts_ms:
        raise ValueError("the silence must end after it starts")
    if ends_ms <= now_ms:
        raise ValueError("the silence ends in the past")
    if not created_by.strip():
        raise ValueError("say who creates the silence")
    if not comment.strip():
        raise ValueError("say why (comment): the next person on call will read it")
    return Silence(uuid.uuid4().hex, parsed, starts_ms, ends_ms, created_by.strip(), comment.strip(), now_ms)


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now_ms: int) -> list[str]:
    """Ids of the active silences that mute these labels."""
    return [s.id for s in silences if s.mutes(labels, now_ms)]
