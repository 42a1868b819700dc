"""core.access.sessions and core.access.throttle: tokens, expiry, rotation, growing delays (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

import pytest

from core.access import accounts
from core.access.sessions import Sessions, token_hash
from core.access.throttle import Outcome, delay_s, failure_message
from core.kernel.settings import AuthSettings, Settings
from core.seam.signin import SignIn
from core.storage.repos.sessions import SessionRepo, SignInLog
from core.storage.repos.users import UserRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock

PASSWORD = "dev-pass-12"


@pytest.fixture
def users(store: Store) -> UserRepo:
    repo = UserRepo(store.engine)
    repo.add(
        username="dev", password_hash=accounts.hash_password(PASSWORD, rounds=4), role="developer", now_ms=0
    )
    repo.add(username="ops", password_hash=accounts.hash_password(PASSWORD, rounds=4), role="admin", now_ms=0)
    return repo


@pytest.fixture
def sessions(store: Store, users: UserRepo, clock: FakeClock) -> Sessions:
    settings = AuthSettings(session_idle_minutes=60, session_absolute_hours=12, session_renew_minutes=10)
    return Sessions(SessionRepo(store.engine), settings, clock)


# -- sessions ---------------------------------------------------------------------------------------
def test_the_database_keeps_only_the_hash_of_a_random_token(sessions: Sessions) -> None:
    live = sessions.start("dev", "ip:10.0.0.1")
    assert live is not None and live.token
    assert len(live.token) >= 43 and live.token != sessions.start("dev", "x").token  # type: ignore[union-attr]
    assert token_hash(live.token) == hashlib.sha256(live.token.encode()).hexdigest()
    assert sessions.repo.by_token_hash(live.token) is None
    assert sessions.restore(live.token) is not None
    assert sessions.restore("forged-token") is None and sessions.restore("") is None
    assert sessions.start("ghost", "x") is None


def test_sign_out_deletes_the_row_so_the_token_stops_working(sessions: Sessions) -> None:
    live = sessions.start("dev", "c")
    assert live is not None and live.token
    assert sessions.end(live.session.id)
    assert sessions.restore(live.token) is None
    assert sessions.check(live.session.id) is None


def test_idle_expiry(sessions: Sessions, clock: FakeClock) -> None:
    live = sessions.start("dev", "c")
    assert live is not None and live.token
    clock.advance(59 * 60)
    assert sessions.restore(live.token) is not None  # used: the idle clock starts again
    clock.advance(59 * 60)
    kept = sessions.check(live.session.id)
    assert kept is not None
    token = kept.token or live.token
    clock.advance(60 * 60)  # an hour unused
    assert sessions.restore(token) is None
    assert sessions.repo.get(live.session.id) is None  # and the row is gone


def test_absolute_expiry_whatever_the_use(sessions: Sessions, clock: FakeClock) -> None:
    live = sessions.start("dev", "c")
    assert live is not None
    for _ in range(12 * 6 - 1):  # used every 10 minutes for 12 hours less 10 minutes
        clock.advance(600)
        assert sessions.check(live.session.id) is not None
    clock.advance(600)
    assert sessions.check(live.session.id) is None


def test_the_token_rotates_while_in_use_and_the_old_one_stops_working(
    sessions: Sessions, clock: FakeClock
) -> None:
    live = sessions.start("dev", "c")
    assert live is not None and live.token
    clock.advance(9 * 60)
    assert sessions.check(live.session.id).token is None  # type: ignore[union-attr]  # not due yet
    clock.advance(60)
    rotated = sessions.check(live.session.id)
    assert rotated is not None and rotated.token and rotated.token != live.token
    assert rotated.session.id == live.session.id  # other tabs of the browser keep the session
    assert sessions.restore(live.token) is None
    assert sessions.restore(rotated.token) is not None
    stale = rotated.session.renewed_ms - 1  # a second tab renewing with what it read before
    assert not sessions.repo.rotate(live.session.id, "x" * 64, clock.ms, stale)
    assert sessions.restore(rotated.token) is not None


def test_the_cookie_lives_for_the_idle_time_never_past_the_absolute_expiry(
    sessions: Sessions, clock: FakeClock
) -> None:
    live = sessions.start("dev", "c")
    assert live is not None
    assert sessions.cookie_max_age_s(live.session) == 3600
    clock.advance(11.5 * 3600)
    assert sessions.cookie_max_age_s(live.session) == 1800
    assert AuthSettings.model_fields["session_absolute_hours"].metadata[-1].le == 12  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.set_password("dev", "new-hash"),
        lambda r: r.set_disabled("dev", True),
        lambda r: r.set_role("dev", "viewer"),
        lambda r: r.set_teams("dev", ["a"]),
    ],
    ids=["password", "disabled", "role", "teams"],
)
def test_a_change_of_the_user_ends_all_their_sessions(sessions: Sessions, users: UserRepo, change) -> None:  # type: ignore[no-untyped-def]
    mine = [sessions.start("dev", f"c{i}") for i in range(3)]
    other = sessions.start("ops", "c")
    change(users)
    assert all(sessions.restore(m.token) is None for m in mine if m and m.token)
    assert other is not None and other.token and sessions.restore(other.token) is not None


def test_setting_the_same_teams_keeps_the_sessions(sessions: Sessions, users: UserRepo) -> None:
    users.set_teams("dev", ["a"])
    live = sessions.start("dev", "c")
    users.set_teams("dev", ["a"])
    assert live is not None and live.token and sessions.restore(live.token) is not None


# -- the throttle -----------------------------------------------------------------------------------
def test_delays_grow_as_powers_of_two_up_to_the_cap() -> None:
    assert [delay_s(n, 3, 60) for n in range(11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert delay_s(10**6, 3, 900) == 900
    assert failure_message(0) == "Wrong username or password."
    assert failure_message(4) == "Wrong username or password, or too many attempts. Try again in 4 s."


@pytest.fixture
def signin(store: Store, users: UserRepo, clock: FakeClock) -> SignIn:
    settings = Settings(auth=AuthSettings(throttle_free_failures=3, throttle_account_free_failures=5))
    return SignIn(store.engine, settings, clock)


def test_a_client_waits_longer_after_each_failure_and_the_right_password_waits_too(
    signin: SignIn, clock: FakeClock
) -> None:
    waits = [signin.attempt("dev", "wrong-pass", "A").wait_s for _ in range(3)]
    assert waits == [0, 0, 1]
    assert signin.attempt("dev", PASSWORD, "A").wait_s == 1  # refused unchecked
    clock.advance(1)
    assert signin.attempt("dev", "wrong-pass", "A").wait_s == 2
    clock.advance(2)
    assert signin.attempt("dev", "wrong-pass", "A").wait_s == 4
    clock.advance(4)
    ok = signin.attempt("dev", PASSWORD, "A")
    assert ok.live is not None and ok.principal is not None and ok.principal.username == "dev"
    # the success restarts the count of the client on this account; the client's own count over
    # all accounts goes on for the window (6 failures, 5 free: 2 s)
    assert signin.attempt("dev", "wrong-pass", "A").wait_s == 2
    clock.advance(3600)
    assert [signin.attempt("dev", "wrong-pass", "A").wait_s for _ in range(2)] == [0, 0]


def test_unknown_users_get_the_same_answers_as_real_ones(signin: SignIn) -> None:
    real = [signin.attempt("dev", "wrong-pass", "A").message for _ in range(5)]
    ghost = [signin.attempt("ghost", "wrong-pass", "B").message for _ in range(5)]
    assert real == ghost
    log = SignInLog(signin.sessions.repo.engine).recent()
    assert {(u, k) for _, u, k, _, _ in log} == {("dev", True), ("ghost", False)}


def test_a_client_guessing_many_accounts_is_slowed(signin: SignIn) -> None:
    waits = [signin.attempt(f"user{i}", "wrong-pass", "A").wait_s for i in range(7)]
    assert waits == [0, 0, 0, 0, 1, 1, 1]  # the 5th failure of the client: 2^0 s, then refused
    assert signin.attempt("dev", PASSWORD, "B").live is not None  # another client is not


def test_hammering_from_other_clients_never_delays_a_clean_client(signin: SignIn, clock: FakeClock) -> None:
    for i in range(40):
        signin.attempt("dev", "wrong-pass", f"attacker-{i}")
    assert signin.attempt("dev", PASSWORD, "owner").live is not None
    # a client that failed on the account itself waits for the account's delay, capped at 30 s
    assert signin.attempt("ops", "typo-pass", "owner2").wait_s == 0
    for i in range(40):
        signin.attempt("ops", "wrong-pass", f"attacker-{i}")
    wait = signin.attempt("ops", "typo-pass", "owner2").wait_s
    assert 0 < wait <= 30
    clock.advance(wait)
    assert signin.attempt("ops", PASSWORD, "owner2").live is not None


def test_a_disabled_user_cannot_sign_in_and_every_attempt_is_logged(
    signin: SignIn, users: UserRepo, store: Store
) -> None:
    users.set_disabled("dev", True)
    assert signin.attempt("dev", PASSWORD, "A").live is None
    assert signin.attempt("  OPS ", PASSWORD, "A").live is not None  # names are not case sensitive
    log = SignInLog(store.engine).recent()
    assert [(u, c, o) for _, u, _, c, o in log] == [("ops", "A", "ok"), ("dev", "A", "wrong")]
    assert Outcome.THROTTLED.value == "throttled"


def test_an_ended_sessions_id_never_comes_back(sessions: Sessions) -> None:
    """A browser keeps its session's id: had SQLite reused the highest deleted id, a browser whose
    session ended would resume the next session made (another user's)."""
    ended = sessions.start("dev", "ip:10.0.0.1")
    sessions.end(ended.session.id)
    other = sessions.start("ops", "ip:10.0.0.2")
    assert other.session.id != ended.session.id
    assert sessions.check(ended.session.id) is None
