"""Who an OpenID Connect identity is in Pulse: username, role and teams from the ID token's claims.

Pure: the claims (a mapping, as ``st.user`` holds them) and :class:`OidcSettings` in, an
:class:`Identity` out, or an :class:`AuthError` that says what is missing. The identity
provider is the source of truth for a single-sign-on user: their role and teams are taken from
the groups at every sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.access.accounts import normalise_teams, normalise_username
from core.access.policy import Role
from core.kernel.errors import AuthError
from core.kernel.settings.oidc import OidcSettings

RANK = (Role.VIEWER, Role.DEVELOPER, Role.TEAM_LEAD, Role.ADMIN)  # the highest role given wins


@dataclass(frozen=True)
class Identity:
    username: str
    role: Role
    teams: tuple[str, ...]
    display_name: str = ""
    email: str = ""


def _groups(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    if isinstance(value, list | tuple):
        return [str(g) for g in value]
    raise AuthError(f"the {name!r} claim is neither a list nor a string")


def identity_of(claims: Mapping[str, Any], s: OidcSettings) -> Identity:
    """The Pulse user an identity provider vouches for; AuthError when it may not sign in."""
    raw = next((str(claims[c]) for c in s.username_claims if claims.get(c)), None)
    if raw is None:
        raise AuthError(f"the identity provider sent none of the claims {', '.join(s.username_claims)}")
    username = normalise_username(raw)
    groups = _groups(claims, s.groups_claim)
    given = [Role.parse(s.role_groups[g]) for g in groups if g in s.role_groups]
    if not given and s.default_role is None:
        raise AuthError(
            f"{username} has no Pulse role: none of their groups is mapped (auth.oidc.role_groups); ask an admin"
        )
    role = max(given, key=RANK.index) if given else Role.parse(s.default_role or "")
    prefix = s.team_prefix
    teams = normalise_teams(
        g[len(prefix) :] for g in groups if prefix and g.startswith(prefix) and g != prefix
    )
    name = str(claims.get("name") or "")[:200]
    email = str(claims.get("email") or "")[:320]
    return Identity(username, role, teams, name, email)
