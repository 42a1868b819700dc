"""Single sign-on: the ID token's claims as a Pulse user (a table), and the sign-in behind the seam
on a real store: the account made on first sign-in, kept in line with the provider's groups, and
refused when disabled or when a password account of that name exists."""

from __future__ import annotations

from typing import Any

import pytest

from core.access import accounts
from core.access.oidc import identity_of
from core.access.policy import Role
from core.kernel.errors import AuthError
from core.kernel.settings import AuthSettings, Settings
from core.kernel.settings.oidc import OidcSettings
from core.seam.signin import SignIn
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock

OIDC = OidcSettings(
    enabled=True,
    role_groups={"pulse-admins": "admin", "pulse-leads": "team_lead", "pulse-devs": "developer"},
)


@pytest.mark.parametrize(
    ("claims", "role", "teams"),
    [
        ({"preferred_username": "Ana", "groups": ["pulse-devs", "team:ml"]}, Role.DEVELOPER, ("ml",)),
        (
            {"email": "bo@example.com", "groups": ["pulse-devs", "pulse-leads", "team:a", "team:b"]},
            Role.TEAM_LEAD,
            ("a", "b"),
        ),
        (
            {"sub": "ops1", "groups": "pulse-admins team:ops"},
            Role.ADMIN,
            ("ops",),
        ),  # a space-separated string
        ({"sub": "x", "groups": ["pulse-leads", "team:"]}, Role.TEAM_LEAD, ()),  # the bare prefix is no team
    ],
)
def test_claims_to_username_role_and_teams(
    claims: dict[str, Any], role: Role, teams: tuple[str, ...]
) -> None:
    ident = identity_of(claims, OIDC)
    assert (ident.role, ident.teams) == (role, teams)
    assert ident.username == next(str(claims[c]) for c in OIDC.username_claims if c in claims).lower()


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"groups": ["pulse-admins"]}, "none of the claims preferred_username, email, sub"),
        ({"sub": "eve", "groups": ["other"]}, "eve has no Pulse role"),
        ({"sub": "eve"}, "eve has no Pulse role"),
        ({"sub": "eve", "groups": {"a": 1}}, "neither a list nor a string"),
        ({"sub": "bad name!", "groups": ["pulse-devs"]}, "invalid username"),
    ],
)
def test_claims_that_give_no_pulse_user_are_refused_with_the_reason(
    claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        identity_of(claims, OIDC)


def test_a_default_role_admits_users_without_a_mapped_group() -> None:
    ident = identity_of({"sub": "guest"}, OIDC.model_copy(update={"default_role": "viewer"}))
    assert ident.role is Role.VIEWER and ident.teams == ()


def test_an_unknown_role_in_the_mapping_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        OidcSettings(role_groups={"g": "superuser"})


@pytest.fixture
def signin(store: Store, clock: FakeClock) -> SignIn:
    return SignIn(store.engine, Settings(auth=AuthSettings(oidc=OIDC)), clock)


def test_first_sign_in_makes_the_account_and_later_ones_follow_the_groups(
    signin: SignIn, store: Store
) -> None:
    first = signin.single_sign_on({"sub": "ana", "name": "Ana", "groups": ["pulse-devs", "team:ml"]}, "ip:1")
    assert first.principal is not None and first.live is not None
    assert (first.principal.role, first.principal.teams, first.principal.label) == (
        Role.DEVELOPER,
        frozenset({"ml"}),
        "Ana",
    )
    user = UserRepo(store.engine).get("ana")
    assert user is not None and not accounts.verify_password("", user.password_hash)  # no password works
    promoted = signin.single_sign_on({"sub": "ana", "groups": ["pulse-leads", "team:ml", "team:web"]}, "ip:1")
    assert promoted.principal is not None
    assert (promoted.principal.role, promoted.principal.teams) == (Role.TEAM_LEAD, frozenset({"ml", "web"}))
    # the role changed: older sessions end
    assert first.live.token and signin.restore(first.live.token) is None


def test_a_disabled_account_and_a_password_account_are_refused(signin: SignIn, store: Store) -> None:
    repo = UserRepo(store.engine)
    signin.single_sign_on({"sub": "ana", "groups": ["pulse-devs"]}, "ip:1")
    repo.set_disabled("ana", True)
    with pytest.raises(AuthError, match="disabled"):
        signin.single_sign_on({"sub": "ana", "groups": ["pulse-devs"]}, "ip:1")
    repo.add(
        username="admin",
        password_hash=accounts.hash_password("a-password-1", rounds=4),
        role="admin",
        now_ms=0,
    )
    with pytest.raises(AuthError, match="account with a password"):
        signin.single_sign_on({"sub": "admin", "groups": ["pulse-admins"]}, "ip:1")
