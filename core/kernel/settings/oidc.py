"""Single sign-on with OpenID Connect: how an identity provider's claims become a Pulse user.

The provider itself (its metadata URL, client id and secret, the redirect URI and the cookie
secret) is configured where Streamlit's ``st.login`` reads it: the ``[auth]`` table of Streamlit's
secrets (docs/security.md). These settings only map the ID token's claims to a username, a role
and teams.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

ROLES = ("admin", "team_lead", "developer", "viewer")


class OidcSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Offer single sign-on beside the password form")
    provider: str | None = Field(
        None,
        description="Name of the provider table in Streamlit's [auth] secrets ([auth.NAME]); none: [auth] itself",
    )
    button_label: str = Field("Sign in with single sign-on", min_length=1, max_length=60)
    username_claims: tuple[str, ...] = Field(
        ("preferred_username", "email", "sub"),
        min_length=1,
        description="Claims tried in order for the Pulse username (the first present one is used)",
    )
    groups_claim: str = Field("groups", min_length=1, description="Claim holding the user's groups")
    role_groups: dict[str, str] = Field(
        default_factory=dict,
        description="Group -> Pulse role (admin, team_lead, developer, viewer); the highest role given wins",
    )
    team_prefix: str = Field(
        "team:", description="Groups starting with this give membership of the team named by the rest"
    )
    default_role: str | None = Field(
        None, description="Role of a user whose groups map to none; none: such users may not sign in"
    )

    @field_validator("role_groups")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {g: r for g, r in v.items() if r not in ROLES}
        if bad:
            raise ValueError(f"unknown role(s) {bad}; use one of {', '.join(ROLES)}")
        return v

    @field_validator("default_role")
    @classmethod
    def _default(cls, v: str | None) -> str | None:
        if v is not None and v not in ROLES:
            raise ValueError(f"unknown role {v!r}; use one of {', '.join(ROLES)}")
        return v
