"""core.access.policy: the role matrix, passwords, first-admin bootstrap; `pulse users`."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa

from core.access import accounts
from core.access import policy as auth
from core.access.policy import Action, Principal, Role
from core.cli import main
from core.kernel.errors import AuthError
from core.storage.repos.sessions import SessionRepo
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock

FAST = 4  # bcrypt rounds for fixtures: the cost is stored in the hash, so checks are fast too
_HASHES: dict[str, str] = {}


def fast_hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = accounts.hash_password(password, rounds=FAST)
    return _HASHES[password]


# -- the role matrix -------------------------------------------------------------------------------
PRINCIPALS = {
    "admin": Principal("root", Role.ADMIN),
    "admin-of-a": Principal("root2", Role.ADMIN, frozenset({"a"})),  # membership does not narrow an admin
    "lead-a": Principal("lee", Role.TEAM_LEAD, frozenset({"a"})),
    "dev-a-b": Principal("dee", Role.DEVELOPER, frozenset({"a", "b"})),
    "dev-none": Principal("new", Role.DEVELOPER),
    "lead-none": Principal("new2", Role.TEAM_LEAD),
    "viewer-all": Principal("wall", Role.VIEWER),
    "viewer-b": Principal("vee", Role.VIEWER, frozenset({"b"})),
    "nobody": None,
}
V, E, ACK, SIL, RULES, USERS, SETTINGS = (
    Action.VIEW,
    Action.EXPORT,
    Action.ACKNOWLEDGE,
    Action.SILENCE,
    Action.EDIT_RULES,
    Action.MANAGE_USERS,
    Action.MANAGE_SETTINGS,
)
# (who, page, team, action) -> allowed; None means "not asked about"
MATRIX = [
    # admin: every page, every team, every action
    ("admin", "health", None, V, True),
    ("admin", "capacity", "z", RULES, True),
    ("admin", "admin_users", None, USERS, True),
    ("admin", "admin_settings", None, SETTINGS, True),
    ("admin", "usage", None, Action.SNAPSHOT, True),
    ("lead-a", "usage", None, Action.SNAPSHOT, False),
    ("admin", "some_future_page", None, V, True),
    ("admin", None, "any-team", SIL, True),
    ("admin-of-a", "health", "z", V, True),
    # team lead: Monitor and Plan pages, their teams, acknowledge/silence/edit rules there
    ("lead-a", "health", None, V, True),
    ("lead-a", "performance", "a", V, True),
    ("lead-a", "performance", "b", V, False),
    ("lead-a", "capacity", "a", V, True),
    ("lead-a", "usage", None, E, True),
    ("lead-a", "alerts", "a", ACK, True),
    ("lead-a", "alerts", "a", SIL, True),
    ("lead-a", "alerts", "b", SIL, False),
    ("lead-a", "optimization", "a", RULES, True),
    ("lead-a", "admin_users", None, V, False),
    ("lead-a", None, None, USERS, False),
    ("lead-a", None, "a", SETTINGS, False),
    ("lead-a", "some_future_page", None, V, False),
    ("lead-none", "health", None, V, True),
    ("lead-none", "health", "a", V, False),
    # developer: Monitor pages, their teams, may acknowledge
    ("dev-a-b", "health", "a", V, True),
    ("dev-a-b", "performance", "b", E, True),
    ("dev-a-b", "incidents", "b", ACK, True),
    ("dev-a-b", "alerts", "c", ACK, False),
    ("dev-a-b", "alerts", "a", SIL, False),
    ("dev-a-b", "capacity", "a", V, False),
    ("dev-a-b", "admin_users", None, V, False),
    # developer: Usage (Plan) alone of the Plan pages, narrowed to their own user (test below)
    ("dev-a-b", "usage", None, V, True),
    ("dev-a-b", "usage", "a", E, True),
    ("dev-a-b", "usage", "c", V, False),
    ("dev-a-b", "optimization", None, V, False),
    ("dev-a-b", "usage", None, Action.SNAPSHOT, False),
    ("dev-none", "health", None, V, True),
    ("dev-none", "health", "a", V, False),
    # viewer: Monitor pages, read-only; their teams, or every team when they have none
    ("viewer-all", "health", "any-team", V, True),
    ("viewer-all", "performance", None, E, True),
    ("viewer-all", "alerts", None, ACK, False),
    ("viewer-all", "alerts", None, SIL, False),
    ("viewer-all", "usage", None, V, False),
    ("viewer-all", "admin_users", None, V, False),
    ("viewer-b", "health", "b", V, True),
    ("viewer-b", "health", "a", V, False),
    ("viewer-b", "incidents", "b", ACK, False),
    # nobody signed in: nothing
    ("nobody", "health", None, V, False),
    ("nobody", None, None, V, False),
    # unknown actions: admins only
    ("admin", None, None, "launch_rockets", True),
    ("lead-a", None, None, "launch_rockets", False),
]


@pytest.mark.parametrize(("who", "page", "team", "action", "allowed"), MATRIX)
def test_role_matrix(who: str, page: str | None, team: str | None, action: str, allowed: bool) -> None:
    assert auth.may(PRINCIPALS[who], page=page, team=team, action=action) is allowed


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        ("admin", None),
        ("admin-of-a", None),
        ("lead-a", {"a"}),
        ("dev-a-b", {"a", "b"}),
        ("dev-none", set()),
        ("viewer-all", None),
        ("viewer-b", {"b"}),
    ],
)
def test_team_scope_is_what_the_queries_are_narrowed_to(who: str, scope: set[str] | None) -> None:
    principal = PRINCIPALS[who]
    assert principal is not None
    assert auth.team_scope(principal) == (None if scope is None else frozenset(scope))


@pytest.mark.parametrize(
    ("who", "user"),
    [("admin", None), ("lead-a", None), ("dev-a-b", "dee"), ("dev-none", "new"), ("viewer-all", None)],
)
def test_user_scope_narrows_developers_to_their_own_series(who: str, user: str | None) -> None:
    principal = PRINCIPALS[who]
    assert principal is not None
    assert auth.user_scope(principal) == user


def test_roles_parse_with_a_clear_error() -> None:
    assert Role.parse(" Team-Lead ") is Role.TEAM_LEAD
    with pytest.raises(
        AuthError, match="unknown role 'boss'; choose one of admin, team_lead, developer, viewer"
    ):
        Role.parse("boss")


# -- names and passwords ---------------------------------------------------------------------------
def test_usernames_and_teams_are_normalised_or_refused() -> None:
    assert accounts.normalise_username(" Ada.L ") == "ada.l"
    for bad in ("", "-x", "a b", "x" * 65, "ümlaut"):
        with pytest.raises(AuthError, match="invalid username"):
            accounts.normalise_username(bad)
    assert accounts.normalise_teams(["b,a", " a ", "c"]) == ("a", "b", "c")
    assert accounts.normalise_teams([""]) == ()
    with pytest.raises(AuthError, match="invalid team"):
        accounts.normalise_teams(["a;drop"])


def test_passwords_are_bcrypt_hashed_and_checked() -> None:
    hashed = fast_hash("correct horse")
    assert hashed.startswith("$2b$04$")
    assert accounts.verify_password("correct horse", hashed)
    assert not accounts.verify_password("wrong horse", hashed)
    assert not accounts.verify_password("correct horse", "not-a-hash")
    assert not accounts.verify_password("x" * 100, hashed)  # bcrypt refuses > 72 bytes: a plain "no"
    for bad, why in (("short", "too short"), ("é" * 40, "too long"), (" padded-pass ", "white space")):
        with pytest.raises(AuthError, match=why):
            accounts.hash_password(bad, rounds=FAST)
    assert len({accounts.generate_password() for _ in range(5)}) == 5
    assert len(accounts.generate_password()) >= 20


# -- the users table (SQLite and PostgreSQL) --------------------------------------------------------
def test_user_repo_round_trip(store: Store, clock: FakeClock) -> None:
    repo = UserRepo(store.engine)
    assert repo.count() == 0
    ada = repo.add(
        username="ada",
        password_hash=fast_hash("ada-pass-1"),
        role="team_lead",
        teams=["b", "a", "a"],
        display_name="Ada",
        email="ada@example.org",
        now_ms=clock.ms,
    )
    assert ada is not None
    assert (ada.username, ada.role, ada.teams, ada.disabled, ada.created_ms) == (
        "ada",
        "team_lead",
        ("a", "b"),
        False,
        clock.ms,
    )
    assert repo.add(username="ada", password_hash="x", role="viewer", now_ms=0) is None  # taken
    assert repo.set_teams("ada", ["c"]) and repo.get("ada").teams == ("c",)  # type: ignore[union-attr]
    assert repo.set_role("ada", "viewer") and repo.get("ada").role == "viewer"  # type: ignore[union-attr]
    assert repo.set_password("ada", "new-hash")
    ada = repo.get("ada")
    assert ada is not None and ada.password_hash == "new-hash"
    assert repo.set_disabled("ada", True) and repo.get("ada").disabled  # type: ignore[union-attr]
    for missing in (
        repo.set_password("bob", "h"),
        repo.set_disabled("bob", True),
        repo.set_teams("bob", ["a"]),
        repo.set_role("bob", "admin"),
    ):
        assert missing is False
    assert repo.get("bob") is None
    assert [u.username for u in repo.all()] == ["ada"]


# -- sign-in ------------------------------------------------------------------------------------------
def test_the_dummy_check_costs_a_real_check() -> None:
    assert accounts._DUMMY_HASH.startswith("$2b$12$")  # a real hash: checking it costs a real check
    assert bcrypt.checkpw(b"-", accounts._DUMMY_HASH.encode()) is False


# -- first run ---------------------------------------------------------------------------------------
def test_bootstrap_uses_pulse_admin_password_and_runs_once(store: Store) -> None:
    repo = UserRepo(store.engine)
    env = {"PULSE_ADMIN_PASSWORD": "from-the-env-1"}
    done = accounts.bootstrap_admin(repo, env, rounds=FAST)
    assert done.created and done.password is None
    assert "$PULSE_ADMIN_PASSWORD" in (done.message() or "")
    assert "from-the-env-1" not in (done.message() or "")
    admin = repo.get("admin")
    assert admin is not None and admin.role == "admin"
    assert accounts.verify_password("from-the-env-1", admin.password_hash)
    again = accounts.bootstrap_admin(repo, {"PULSE_ADMIN_PASSWORD": "another-one-2"}, rounds=FAST)
    assert not again.created and again.message() is None
    assert repo.count() == 1
    assert accounts.verify_password("from-the-env-1", repo.get("admin").password_hash)  # type: ignore[union-attr]


@pytest.mark.parametrize("env", [{}, {"PULSE_ADMIN_PASSWORD": ""}])
def test_bootstrap_generates_a_password_to_print_once(store: Store, env: dict[str, str]) -> None:
    repo = UserRepo(store.engine)
    done = accounts.bootstrap_admin(repo, env, rounds=FAST)
    assert done.created and done.password
    assert done.password in (done.message() or "")
    assert accounts.verify_password(done.password, repo.get("admin").password_hash)  # type: ignore[union-attr]
    assert accounts.bootstrap_admin(repo, env, rounds=FAST) == accounts.Bootstrap(created=False)
    assert [u.username for u in repo.all()] == ["admin"]


def test_bootstrap_refuses_a_weak_env_password_and_creates_nobody(store: Store) -> None:
    repo = UserRepo(store.engine)
    with pytest.raises(AuthError, match=r"\$PULSE_ADMIN_PASSWORD is not usable: password too short"):
        accounts.bootstrap_admin(repo, {"PULSE_ADMIN_PASSWORD": "admin"}, rounds=FAST)
    assert repo.count() == 0


def test_bootstrap_leaves_existing_users_alone(store: Store) -> None:
    repo = UserRepo(store.engine)
    repo.add(username="ops", password_hash=fast_hash("ops-pass-1"), role="admin", now_ms=0)
    assert not accounts.bootstrap_admin(repo, {}, rounds=FAST).created
    assert repo.get("admin") is None


# -- `pulse users` -----------------------------------------------------------------------------------
@pytest.fixture
def pulse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``pulse(*argv, stdin=None)`` -> (exit status, stdout, stderr) on a temporary SQLite store."""
    monkeypatch.setenv("PULSE_DATABASE_URL", f"sqlite:///{tmp_path}/users.db")
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_users_add_list_reset_disable(pulse: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, _ = pulse("users", "list")
    assert code == 0 and "no users yet" in out
    code, out, _ = pulse(
        "users", "add", "Ada", "--role", "team-lead", "--team", "b,a", "--name", "Ada L", "--password-stdin",
        stdin="ada-pass-1\n",
    )  # fmt: skip
    assert code == 0
    assert out.strip() == "added ada (team_lead; teams: a,b)"
    code, out, _ = pulse("users", "add", "wall", "--role", "viewer")  # no stdin flag, no terminal
    assert code == 0
    generated = out.split("password of wall: ")[1].split()[0]
    assert "shown only this once" in out
    code, out, _ = pulse("users", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "TEAMS", "STATUS", "NAME", "EMAIL", "CREATED"]
    assert lines[1].split()[:4] == ["ada", "team_lead", "a,b", "active"]
    assert lines[2].split()[:4] == ["wall", "viewer", "(all)", "active"]

    repo = UserRepo(sa.create_engine(f"sqlite:///{tmp_path}/users.db"))
    assert accounts.verify_password("ada-pass-1", repo.get("ada").password_hash)  # type: ignore[union-attr]
    assert accounts.verify_password(generated, repo.get("wall").password_hash)  # type: ignore[union-attr]

    SessionRepo(repo.engine).create("h" * 64, "ada", "test", 0)
    code, out, _ = pulse("users", "reset-password", "ada", "--password-stdin", stdin="new-pass-123\n")
    assert code == 0 and "signed out everywhere" in out
    assert SessionRepo(repo.engine).of_user("ada") == []
    ada = repo.get("ada")
    assert ada is not None
    assert accounts.verify_password("new-pass-123", ada.password_hash)

    code, out, _ = pulse("users", "update", "ada", "--role", "developer", "--team", "c")
    assert code == 0 and out.splitlines() == [
        "updated ada (developer; teams: c)",
        "ada is signed out everywhere and signs in again with the new access",
    ]
    code, out, _ = pulse("users", "disable", "ada")
    assert code == 0 and "disabled ada" in out
    assert pulse("users", "list")[1].splitlines()[1].split()[3] == "disabled"
    assert pulse("users", "enable", "ada")[0] == 0
    assert pulse("users", "list")[1].splitlines()[1].split()[3] == "active"
    repo.engine.dispose()


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ("users", "add", "bob", "--role", "boss"),
            None,
            "unknown role 'boss'; choose one of admin, team_lead",
        ),
        (("users", "add", "ada", "--role", "viewer", "--password-stdin"), "x-pass-123", "user 'ada' exists"),
        (("users", "add", "b b", "--role", "viewer"), None, "invalid username 'b b'"),
        (("users", "add", "bob", "--role", "viewer", "--password-stdin"), "short", "password too short"),
        (("users", "reset-password", "ghost"), None, "no user 'ghost'; see `pulse users list`"),
        (("users", "disable", "ghost"), None, "no user 'ghost'"),
        (("users", "update", "ghost", "--role", "viewer"), None, "no user 'ghost'"),
        (("users", "update", "ada"), None, "nothing to change"),
        (("users", "disable", "admin"), None, "'admin' is the last active admin"),
        (("users", "update", "admin", "--role", "viewer"), None, "'admin' is the last active admin"),
    ],
)
def test_users_bad_input_exits_2_with_a_clear_message(
    pulse: Callable[..., tuple[int, str, str]],
    argv: tuple[str, ...],
    stdin: str | None,
    message: str,
) -> None:
    assert pulse("users", "add", "ada", "--role", "viewer", "--password-stdin", stdin="ada-pass-1")[0] == 0
    engine = sa.create_engine(os.environ["PULSE_DATABASE_URL"])
    UserRepo(engine).add(username="admin", password_hash=fast_hash("admin-pass-1"), role="admin", now_ms=0)
    engine.dispose()
    code, _, err = pulse(*argv, stdin=stdin)
    assert code == 2
    assert err.startswith("pulse: error: ")
    assert message in err


def test_pulse_up_bootstrap_prints_the_generated_password_once(
    pulse: Callable[..., tuple[int, str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli.users import bootstrap
    from core.kernel.settings import load_settings

    settings = load_settings()
    first = bootstrap(settings)
    out = capsys.readouterr().out
    assert first.created and first.password and first.password in out
    assert "reset-password admin" in out
    assert not bootstrap(settings).created
    assert capsys.readouterr().out == ""
    assert pulse("users", "list")[1].splitlines()[1].split()[:4] == ["admin", "admin", "(all)", "active"]
