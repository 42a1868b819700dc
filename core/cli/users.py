"""``pulse users``: add, list, update, reset-password, disable and enable dashboard users.

A new password, disabling, and a change of role or teams end every session of the user
(``core.storage.repos.users`` deletes them in the same transaction as the change). Every change
is written to the audit log as ``cli:<os user>`` (``core.admin.users``; see ``pulse audit``).

Passwords never appear on the command line: ``--password-stdin`` reads one line from standard
input, a terminal is prompted twice, and otherwise a random password is generated and printed
once. Errors (unknown role, taken or missing username, weak password) exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from getpass import getpass
from typing import TYPE_CHECKING

from core.access import accounts
from core.access import policy as auth
from core.admin.audit import Actor
from core.admin.users import UserAdmin, check_new_user
from core.kernel.errors import AuthError
from core.kernel.settings import Settings

if TYPE_CHECKING:
    from core.kernel.records.users import UserRecord


@contextlib.contextmanager
def _admin(settings: Settings) -> Iterator[UserAdmin]:
    """The users of the configured database, changed as ``cli:<os user>`` (audited)."""
    from core.storage.repos.users import UserRepo
    from core.storage.tsdb import open_store

    store = open_store(settings)
    try:
        yield UserAdmin(UserRepo(store.engine), Actor.cli())
    finally:
        store.close()


def _read_password(args: argparse.Namespace) -> str | None:
    """The new password, or None to have one generated."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        first = getpass("New password: ")
        if first != getpass("Repeat it: "):
            raise AuthError("the two passwords differ; nothing changed")
        return first
    return None


def _print_generated(username: str, password: str) -> None:
    print(f"password of {username}: {password}")
    print("it is shown only this once; pass it on over a safe channel")


def _teams_text(user: UserRecord) -> str:
    scope = auth.team_scope(auth.Principal.of(user))
    if scope is None:
        return "(all)"
    return ",".join(sorted(scope)) or "(none)"


def _status(user: UserRecord) -> str:
    return "disabled" if user.disabled else "active"


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _admin(settings) as admin:
        users = admin.users()
    if not users:
        print("no users yet: `pulse up` (or the first start of the dashboard) creates the admin")
        return 0
    header = ("USERNAME", "ROLE", "TEAMS", "STATUS", "NAME", "EMAIL", "CREATED")
    rows = [
        (
            u.username,
            u.role,
            _teams_text(u),
            _status(u),
            u.display_name,
            u.email,
            datetime.fromtimestamp(u.created_ms / 1000, UTC).strftime("%Y-%m-%d"),
        )
        for u in users
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    with _admin(settings) as admin:
        name, role, teams = check_new_user(
            args.username, args.role, args.team, args.name or "", args.email or "", None
        )
        if admin.repo.get(name) is not None:
            raise AuthError(f"user {name!r} exists; use `pulse users reset-password` or `update`")
        created = admin.create(
            name, role.value, teams, args.name or "", args.email or "", _read_password(args)
        )
    added = created.user
    print(f"added {added.username} ({role.value}; teams: {_teams_text(added)})")
    if role in (auth.Role.TEAM_LEAD, auth.Role.DEVELOPER) and not teams:
        print(f"note: a {role.value} without --team sees no data until added to a team")
    if created.password:
        _print_generated(added.username, created.password)
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    if args.role is None and args.team is None:
        raise AuthError("nothing to change: give --role and/or --team")
    with _admin(settings) as admin:
        user = admin.get(args.username)
        now = admin.set_access(user.username, args.role, args.team)
    print(f"updated {now.username} ({now.role}; teams: {_teams_text(now)})")
    if now.role != user.role or now.teams != user.teams:
        print(f"{now.username} is signed out everywhere and signs in again with the new access")
    return 0


def cmd_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    with _admin(settings) as admin:
        user = admin.get(args.username)
        generated = admin.reset_password(user.username, _read_password(args))
    print(f"password of {user.username} changed; {user.username} is signed out everywhere")
    if generated:
        _print_generated(user.username, generated)
    return 0


def _set_disabled(args: argparse.Namespace, settings: Settings, disabled: bool) -> int:
    with _admin(settings) as admin:
        user = admin.set_disabled(args.username, disabled)
    if disabled:
        print(f"disabled {user.username}: they cannot sign in and their sessions have ended")
    else:
        print(f"enabled {user.username}")
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_disabled(args, settings, True)


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_disabled(args, settings, False)


def bootstrap(settings: Settings) -> accounts.Bootstrap:
    """Create the first admin if there are no users; print its password once (``pulse up``)."""
    with _admin(settings) as admin:
        done = accounts.bootstrap_admin(admin.repo)
    message = done.message()
    if message:
        print(message, flush=True)
    return done


def configure(users: argparse.ArgumentParser) -> None:
    """Add the ``users`` sub-commands to ``pulse users``."""
    sub = users.add_subparsers(dest="users_command", required=True)
    sub.add_parser("list", help="list users, roles, teams and status").set_defaults(func=cmd_list)
    roles = "|".join(r.value for r in auth.Role)
    team_help = "team the user belongs to (repeat, or comma separated)"
    stdin_help = "read the password from one line of standard input"

    add = sub.add_parser("add", help="add a user (password prompted, read or generated)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help=roles)
    add.add_argument("--team", action="append", default=[], help=team_help)
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help=stdin_help)
    add.set_defaults(func=cmd_add)

    upd = sub.add_parser("update", help="change a user's role or teams (--team replaces the teams)")
    upd.add_argument("username")
    upd.add_argument("--role", default=None, help=roles)
    upd.add_argument("--team", action="append", default=None, help=team_help + "; '' for none")
    upd.set_defaults(func=cmd_update)

    reset = sub.add_parser("reset-password", help="set a new password and end the user's sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help=stdin_help)
    reset.set_defaults(func=cmd_reset_password)

    for name, func, text in (
        ("disable", cmd_disable, "stop a user from signing in (their data is kept)"),
        ("enable", cmd_enable, "let a disabled user sign in again"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("username")
        p.set_defaults(func=func)
