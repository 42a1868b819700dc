"""Who may see what: roles, principals, the one permission check (passwords and the first admin in
``accounts``, sessions in ``sessions``, the throttle of failed sign-ins in ``throttle``).

No Streamlit here. ``pages/_auth.py`` adapts this module to the dashboard's sign-in form (an OIDC
``st.login`` adapter would use the same functions); ``core.views.scope`` applies
:func:`team_scope` to every query the dashboards make, so scoping never depends on hiding pages.

Role matrix (:data:`GRANTS`; :func:`may` is the only place that reads it)

============  ==========================  ========================================  ===========================
role          pages                       teams                                     actions
============  ==========================  ========================================  ===========================
admin         every page (Monitor, Plan,  every team                                every action
              Admin)
team_lead     Monitor and Plan            the teams they are a member of            view, export, acknowledge,
                                                                                    silence, edit_rules
developer     Monitor, and Usage (their   the teams they are a member of; on Usage  view, export, acknowledge
              own usage only)             only the series of their own user
viewer        Monitor                     the teams they are a member of; every     view, export (read-only)
                                          team when they are a member of none
============  ==========================  ========================================  ===========================

Decisions:

* A viewer without teams is a fleet-wide read-only account (a wall screen, a manager): it sees
  every team but can change nothing. A viewer with teams sees only those.
* A team lead or developer without teams sees no team's data (the pages say so): membership,
  not the role, grants data, so forgetting ``--team`` never exposes the fleet.
* Hosts carry no ``team`` label: a team-scoped user sees the hosts that run an MCP server of one
  of their teams, and series without a team or host label (Pulse's own metrics) not at all.
* A developer may open the Usage page (Plan) but sees only their own usage there: series whose
  ``user`` label equals their Pulse username exactly (:func:`user_scope`), and series of the MCP
  servers of their own sessions (tool calls carry no ``user`` label); team-wide series such as
  ``platform_active_users`` are not theirs. Their team scope still applies on top.
* Only admins take snapshots on demand (``snapshot``); the daemon writes the scheduled ones.
* Pages are named by their URL path. ``admin_*`` pages and any page not in :data:`PAGE_SECTIONS`
  are for admins only (deny by default). ``manage_users`` and ``manage_settings`` are fleet-wide
  actions; the others apply to a team and need the team in the user's scope when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.kernel.errors import AuthError
from core.kernel.records.users import UserRecord


class Role(StrEnum):
    ADMIN = "admin"
    TEAM_LEAD = "team_lead"
    DEVELOPER = "developer"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(r.value for r in cls)
            raise AuthError(f"unknown role {text!r}; choose one of {choices}") from None

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Section(StrEnum):
    MONITOR = "monitor"
    PLAN = "plan"
    ADMIN = "admin"


class Action(StrEnum):
    VIEW = "view"  # open dashboards
    EXPORT = "export"  # download the data behind a view
    ACKNOWLEDGE = "acknowledge"  # acknowledge an alert or incident, add notes to its timeline
    RESOLVE = "resolve"  # resolve, reopen and assign incidents, add their action items
    SILENCE = "silence"  # silence alerts
    EDIT_RULES = "edit_rules"  # alert rules, thresholds, budgets
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    SNAPSHOT = "snapshot"  # write the CSV snapshots now (usage, capacity, recommendations)


# not about one team
FLEET_ACTIONS = frozenset({Action.MANAGE_USERS, Action.MANAGE_SETTINGS, Action.SNAPSHOT})
PAGE_SECTIONS: dict[str, Section] = {
    "health": Section.MONITOR,
    "performance": Section.MONITOR,
    "alerts": Section.MONITOR,
    "incidents": Section.MONITOR,
    "optimization": Section.PLAN,
    "capacity": Section.PLAN,
    "usage": Section.PLAN,
}
ADMIN_PAGE_PREFIX = "admin"


@dataclass(frozen=True)
class Grant:
    sections: frozenset[Section]
    actions: frozenset[Action]
    every_team: bool = False  # sees every team whatever their memberships
    every_team_without_membership: bool = False  # sees every team when a member of none
    pages: frozenset[str] = frozenset()  # single pages opened beyond the sections
    own_usage: bool = False  # on those pages, only the series of their own user


_READ = frozenset({Action.VIEW, Action.EXPORT})
GRANTS: dict[Role, Grant] = {
    Role.ADMIN: Grant(frozenset(Section), frozenset(Action), every_team=True),
    Role.TEAM_LEAD: Grant(
        frozenset({Section.MONITOR, Section.PLAN}),
        _READ | {Action.ACKNOWLEDGE, Action.RESOLVE, Action.SILENCE, Action.EDIT_RULES},
    ),
    Role.DEVELOPER: Grant(
        frozenset({Section.MONITOR}),
        _READ | {Action.ACKNOWLEDGE},
        pages=frozenset({"usage"}),
        own_usage=True,
    ),
    Role.VIEWER: Grant(frozenset({Section.MONITOR}), _READ, every_team_without_membership=True),
}


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the permission check sees them."""

    username: str
    role: Role
    teams: frozenset[str] = frozenset()
    display_name: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @classmethod
    def of(cls, user: UserRecord) -> Principal:
        return cls(user.username, Role.parse(user.role), frozenset(user.teams), user.display_name)


def section_of(page: str) -> Section | None:
    if page.startswith(ADMIN_PAGE_PREFIX):
        return Section.ADMIN
    return PAGE_SECTIONS.get(page)


def team_scope(principal: Principal) -> frozenset[str] | None:
    """The teams whose data ``principal`` may see; None means every team."""
    grant = GRANTS[principal.role]
    if grant.every_team or (grant.every_team_without_membership and not principal.teams):
        return None
    return principal.teams


def user_scope(principal: Principal) -> str | None:
    """The ``user`` label value whose series alone ``principal`` sees on Usage; None: no such limit.

    The Pulse username is the ``user`` label value, exactly (no case folding, no mapping table)."""
    return principal.username if GRANTS[principal.role].own_usage else None


def may(
    principal: Principal | None,
    *,
    page: str | None = None,
    team: str | None = None,
    action: Action | str = Action.VIEW,
) -> bool:
    """May ``principal`` do ``action`` (on ``page``, about ``team``)? Every part given must be allowed.

    Nobody signed in may do nothing. Unknown pages and actions are refused to all but admins.
    """
    if principal is None:
        return False
    grant = GRANTS[principal.role]
    try:
        act = Action(action)
    except ValueError:
        return principal.role is Role.ADMIN
    if act not in grant.actions:
        return False
    if page is not None:
        section = section_of(page)
        if section is None:
            return principal.role is Role.ADMIN
        if section not in grant.sections and page not in grant.pages:
            return False
    if team is not None and act not in FLEET_ACTIONS:
        scope = team_scope(principal)
        if scope is not None and team not in scope:
            return False
    return True


# -- names and passwords ---------------------------------------------------------------------------
