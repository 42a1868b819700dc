"""Silences: matchers and a time window during which matching alerts are not notified.

As in Alertmanager, a silence needs at least one matcher that does not match the empty string
(so it cannot silence everything by accident), an end after its start, an author and a comment.
A silence made by anyone but an admin is limited to that user's teams (:func:`limit_to_teams`):
the team matcher is added and cannot be widened, and only leads of those teams (and admins) may
end it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence

from core.kernel.matchers import describe, parse_matchers
from core.kernel.records.notifications import Silence
from core.kernel.selector import Matcher


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


# -- team ownership: a non-admin's silence is limited to their teams ---------------------------------
TEAM = "team"
_META = set(".^$*+?{}[]()|\\")


def literal_values(m: Matcher) -> frozenset[str] | None:
    """The exact values a positive matcher accepts (``=``, or ``=~`` over literal alternatives such as
    ``a|b\\.c``); None when it is negative or a real pattern, whose values cannot be listed."""
    if m.op == "=":
        return frozenset({m.value})
    if m.op != "=~":
        return None
    values: set[str] = set()
    for part in re.split(r"(?<!\\)\|", m.value):
        text, i = [], 0
        while i < len(part):
            ch = part[i]
            if ch == "\\" and i + 1 < len(part) and not part[i + 1].isalnum():
                text.append(part[i + 1])
                i += 2
                continue
            if ch in _META:
                return None
            text.append(ch)
            i += 1
        values.add("".join(text))
    return frozenset(values)


def team_matcher(teams: Iterable[str]) -> Matcher:
    vals = sorted(set(teams))
    if len(vals) == 1:
        return Matcher(TEAM, "=", vals[0])
    return Matcher(TEAM, "=~", "|".join(re.escape(v) for v in vals))


def limit_to_teams(matchers: Sequence[Matcher], teams: frozenset[str]) -> tuple[Matcher, ...]:
    """``matchers`` as a user of ``teams`` may silence: with a team matcher added when there is none.

    A team matcher that could match another team's alerts (another team's name, a negative matcher,
    a pattern) is refused with the reason: a team lead silences their own teams' alerts only.
    """
    if not teams:
        raise ValueError("you belong to no team, so there are no alerts of yours to silence; ask an admin")
    own = [m for m in matchers if m.label == TEAM]
    if not own:
        return (*matchers, team_matcher(teams))
    for m in own:
        values = literal_values(m)
        if values is None or not values <= teams:
            raise ValueError(
                f"the matcher {describe([m])} could match alerts of teams other than yours "
                f'({", ".join(sorted(teams))}): name your teams with team="..." or leave team out '
                "(it is added for you)"
            )
    return tuple(matchers)


def silence_teams(s: Silence) -> frozenset[str] | None:
    """The teams a silence is limited to (by its positive literal team matchers); None when it is
    not limited to a known set of teams (an admin's silence)."""
    sets = [v for m in s.matchers if m.label == TEAM and (v := literal_values(m)) is not None]
    if not sets:
        return None
    out = sets[0]
    for v in sets[1:]:
        out &= v
    return out


def as_text(matchers: Iterable[Matcher]) -> list[str]:
    return [f'{m.label}{m.op}"{m.value}"' for m in matchers]
