"""Sign-in, sign-out, roles and team scoping as the browser would see them (AppTest)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.kernel.settings import load_settings
from core.kernel.times import fmt_url
from core.storage.repos.sessions import SessionRepo, SignInLog
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K
from tests.pages.conftest import HOSTS, SEEDED_AT, SERVERS, TOOLS, USERS, AppFactory

PAGES = {"pages/health.py": "Health", "pages/performance.py": "Performance"}
PLATFORM = {s for s, (_, team, *_) in SERVERS.items() if team == "platform"}  # github, search
PLATFORM_HOSTS = {SERVERS[s][0] for s in PLATFORM}  # web-1, web-2


def charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def trace_names(spec: dict) -> set[str]:
    return {t["name"] for t in spec["data"] if t.get("name")}


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    user_box, password_box = at.text_input
    user_box.input(username)
    password_box.input(password)
    return at.button[0].click().run()


def shows_sign_in_form(at: AppTest) -> bool:
    labels = [t.label for t in at.text_input]
    return labels == ["Username", "Password"] and [b.label for b in at.button] == ["Sign in"]


def has_no_data(at: AppTest) -> bool:
    """No table, no metric and no chart with a trace (the sign-in screen preloads an empty chart)."""
    traces = [t for el in at.get("plotly_chart") for t in json.loads(el.proto.spec).get("data", [])]
    return not traces and not at.dataframe and not at.metric


def user_repo(url: str) -> UserRepo:
    return UserRepo(open_store(load_settings(database_url=url)).engine)


def session_repo(url: str) -> SessionRepo:
    return SessionRepo(open_store(load_settings(database_url=url)).engine)


def sign_in_log(url: str) -> SignInLog:
    return SignInLog(open_store(load_settings(database_url=url)).engine)


def cookie_scripts(at: AppTest) -> list[str]:
    """The cookie writes this run sent to the browser (scripts in st.html)."""
    return [el.proto.body for el in at.get("html") if "document.cookie" in el.proto.body]


WRONG = "Wrong username or password."


# -- not signed in ---------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [None, *PAGES])
def test_nobody_signed_in_sees_the_form_and_no_data(
    app: AppFactory, seeded_url: str, page: str | None
) -> None:
    at = app(seeded_url, user=None)
    assert not at.exception
    assert shows_sign_in_form(at)
    assert has_no_data(at)
    assert at.title[0].value == "MCP Pulse"
    assert not at.sidebar.button  # no sign-out, no controls
    if page:  # a deep link: the page is known to the navigation but does not run
        at.switch_page(page).run()
        assert not at.exception
        assert shows_sign_in_form(at) and has_no_data(at)


def test_signing_in_with_the_form_opens_the_dashboard(app: AppFactory, seeded_url: str) -> None:
    at = sign_in(app(seeded_url, user=None), "lead", USERS["lead"][2])
    assert not at.exception
    assert at.title[0].value == "Health"
    live = session_repo(seeded_url).get(at.session_state[K.SESSION])
    assert live is not None and live.username == "lead"
    assert at.get("plotly_chart")
    box = [m.value for m in at.sidebar.markdown]
    assert any("lead · Team lead" in m for m in box)
    assert any("Teams: platform" in c.value for c in at.sidebar.caption)


def test_usernames_are_not_case_sensitive(app: AppFactory, seeded_url: str) -> None:
    at = sign_in(app(seeded_url, user=None), "  Admin ", USERS["admin"][2])
    assert at.title[0].value == "Health"


def test_a_deep_link_survives_signing_in(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user=None)
    at.switch_page("pages/performance.py").run()
    assert shows_sign_in_form(at)
    at = sign_in(at, "admin", USERS["admin"][2])
    assert at.title[0].value == "Performance"


def test_a_wrong_password_says_so_and_shows_nothing(app: AppFactory, seeded_url: str) -> None:
    at = sign_in(app(seeded_url, user=None), "viewer", "not-the-password")
    assert not at.exception
    assert shows_sign_in_form(at)
    assert has_no_data(at)
    assert [e.value for e in at.error] == [WRONG]
    at = sign_in(at, "nobody-by-that-name", "whatever-123")
    assert [e.value for e in at.error] == [WRONG]


def _failures(at: AppTest, username: str, n: int) -> list[str]:
    messages = []
    for _ in range(n):
        at = sign_in(at, username, "wrong-password")
        messages.append(at.error[0].value)
    return messages


def test_failures_grow_a_delay_with_one_message_for_real_and_unknown_users(
    app: AppFactory, empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_AUTH__THROTTLE_FREE_FAILURES", "2")
    real = _failures(app(empty_url, user=None), "dev", 3)
    ghost = _failures(app(empty_url, user=None), "ghost", 3)  # another browser session, another client
    assert real[0] == ghost[0] == WRONG
    delayed = "Wrong username or password, or too many attempts. Try again in {} s."
    assert real[1] == ghost[1] == delayed.format(1)  # the second failure: 2^0 s
    assert real[2] == ghost[2] == delayed.format(1)  # refused during the wait, not counted, same words
    time.sleep(1.1)
    at = app(empty_url, user=None)
    for _ in range(2):  # a new client has its own count: it is not delayed by the others
        at = sign_in(at, "dev", "wrong-password")
    assert at.error[0].value == delayed.format(1)
    time.sleep(1.1)
    at = sign_in(at, "dev", "wrong-password")  # the third counted failure of this client: 2^1 s
    assert at.error[0].value == delayed.format(2)
    at = sign_in(at, "dev", USERS["dev"][2])  # the right password waits too
    assert at.error[0].value == delayed.format(2) and shows_sign_in_form(at) and has_no_data(at)
    time.sleep(2.1)
    at = sign_in(at, "dev", USERS["dev"][2])
    assert at.title[0].value == "Health"
    log = sign_in_log(empty_url).recent()
    assert [(u, k, o) for _, u, k, _, o in log[:2]] == [("dev", True, "ok"), ("dev", True, "throttled")]
    assert ("ghost", False, "wrong") in {(u, k, o) for _, u, k, _, o in log}
    assert {o for *_, o in log} == {"ok", "wrong", "throttled"}
    assert all(c.startswith("session:") for _, _, _, c, _ in log)  # AppTest has no address


def test_hammering_a_username_from_elsewhere_does_not_keep_its_owner_out(
    app: AppFactory, empty_url: str
) -> None:
    log = sign_in_log(empty_url)
    now = int(time.time() * 1000)
    for i in range(50):  # the account's name hammered from other clients a moment ago
        log.record(
            at_ms=now - i, username="admin", known=True, client=f"ip:203.0.113.{i % 5}", outcome="wrong"
        )
    attacker = _failures(app(empty_url, user=None), "admin", 3)  # and from this one
    assert "Try again in" in attacker[-1]
    at = sign_in(app(empty_url, user=None), "admin", USERS["admin"][2])  # the owner, from their browser
    assert at.title[0].value == "Health"
    assert user_repo(empty_url).get("admin") is not None


def test_a_user_who_mistyped_during_an_attack_waits_at_most_the_account_delay(
    app: AppFactory, empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_AUTH__THROTTLE_ACCOUNT_MAX_DELAY_S", "2")
    log = sign_in_log(empty_url)
    now = int(time.time() * 1000)
    for i in range(50):
        log.record(at_ms=now, username="admin", known=True, client=f"ip:198.51.100.{i}", outcome="wrong")
    at = sign_in(app(empty_url, user=None), "admin", "a-typo-password")
    assert at.error[0].value.endswith("Try again in 2 s.")
    time.sleep(2.1)
    at = sign_in(at, "admin", USERS["admin"][2])
    assert at.title[0].value == "Health"


# -- signed in -------------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["admin", "lead", "dev", "viewer", "viewer-ml", "newbie"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_role_can_open_every_monitor_page(
    app: AppFactory, seeded_url: str, user: str, page: str
) -> None:
    at = app(seeded_url, page, user=user)
    assert not at.exception
    assert not at.error
    assert at.title[0].value == PAGES[page]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


def test_a_team_lead_sees_only_their_teams_on_health(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user="lead")
    assert at.multiselect(key="w.teams").options == ["platform"]
    assert set(at.multiselect(key="w.hosts").options) == PLATFORM_HOSTS
    assert set(at.multiselect(key="w.servers").options) == PLATFORM
    hosts, servers = at.dataframe[0].value, at.dataframe[1].value
    assert set(hosts["host"]) == PLATFORM_HOSTS
    assert set(servers["server"]) == PLATFORM
    assert set(servers["team"]) == {"platform"}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["MCP servers up"] == "2 / 2"
    specs = charts(at) | charts(app(seeded_url, user="lead", tab="MCP servers"))
    assert trace_names(specs["CPU utilisation"]) == PLATFORM_HOSTS
    for title in ("Ping latency, slowest servers", "tools/list latency, slowest servers"):
        assert trace_names(specs[title]) == PLATFORM
    everything = json.dumps(list(specs.values()))
    for other in set(SERVERS) - PLATFORM:
        assert other not in everything
    assert "gpu-1" not in everything


def test_a_team_lead_sees_only_their_teams_on_performance(app: AppFactory, seeded_url: str) -> None:
    # the last hour of the seeded data, however long ago it was written (a slow run moves "now" on)
    end = SEEDED_AT[seeded_url]
    window = {"range": "custom", "from": fmt_url(end - 3_600_000), "to": fmt_url(end)}
    at = app(seeded_url, "pages/performance.py", user="lead", **window)
    assert at.selectbox(key="w.performance.server").options == ["All servers", *sorted(PLATFORM)]
    tools = at.dataframe[2].value
    assert set(tools["server"]) == PLATFORM
    assert len(tools) == sum(1 for s, _ in TOOLS if s in PLATFORM)
    specs = charts(at)
    assert trace_names(specs["Call rate per server"]) == PLATFORM
    rate = sum(r for (s, _), (r, _, _) in TOOLS.items() if s in PLATFORM)
    assert {m.label: m.value for m in at.metric}["Calls per second"] == f"{rate:g}/s"


def test_a_link_to_another_team_shows_nothing_of_it(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user="lead", team="ml", server="files", host="gpu-1")
    assert not at.exception
    assert "files" not in json.dumps([json.loads(c.proto.spec) for c in at.get("plotly_chart")])
    assert set(at.dataframe[1].value["server"]) <= PLATFORM
    assert "gpu-1" not in set(at.dataframe[0].value["host"])


def test_a_viewer_of_one_team_sees_that_team(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user="viewer-ml")
    assert set(at.dataframe[1].value["server"]) == {"files"}
    assert set(at.dataframe[0].value["host"]) == {"gpu-1"}
    assert any("Teams: ml · read-only" in c.value for c in at.sidebar.caption)


def test_a_viewer_without_teams_sees_the_whole_fleet(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user="viewer")
    assert set(at.dataframe[1].value["server"]) == set(SERVERS)
    assert set(at.dataframe[0].value["host"]) == set(HOSTS)
    assert any("All teams · read-only" in c.value for c in at.sidebar.caption)


def test_a_developer_without_teams_sees_no_data_and_why(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, user="newbie")
    assert not at.exception
    assert any("not a member of any team" in w.value for w in at.warning)
    assert at.dataframe[0].value.empty and at.dataframe[1].value.empty
    assert all(not s["data"] for s in charts(at).values())


def test_signing_out_returns_to_the_form(app: AppFactory, seeded_url: str) -> None:
    at = app(seeded_url, "pages/performance.py", user="dev")
    assert at.get("plotly_chart")
    session_id = at.session_state[K.SESSION]
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert shows_sign_in_form(at)
    assert has_no_data(at)
    assert [i.value for i in at.info] == ["You are signed out."]
    assert K.SESSION not in at.session_state
    assert session_repo(seeded_url).get(session_id) is None  # the row is gone: no cookie copy works
    assert any("Max-Age=0" in c for c in cookie_scripts(at))  # and the browser is told to drop it
    at.run()  # and stays signed out
    assert shows_sign_in_form(at) and has_no_data(at)


def test_a_disabled_user_is_signed_out_on_their_next_click(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, user="viewer")
    assert at.title[0].value == "Health"
    user_repo(empty_url).set_disabled("viewer", True)
    at.run()
    assert shows_sign_in_form(at)
    assert "session ended" in at.info[0].value
    assert session_repo(empty_url).of_user("viewer") == []
    at = sign_in(at, "viewer", USERS["viewer"][2])
    assert shows_sign_in_form(at)
    assert [e.value for e in at.error] == [WRONG]


def test_a_role_change_ends_the_session_and_the_next_sign_in_has_the_new_role(
    app: AppFactory, empty_url: str
) -> None:
    at = app(empty_url, user="viewer")
    assert any("Viewer" in m.value for m in at.sidebar.markdown)
    user_repo(empty_url).set_role("viewer", "developer")
    at.run()
    assert shows_sign_in_form(at) and "session ended" in at.info[0].value
    at = sign_in(at, "viewer", USERS["viewer"][2])
    assert any("Developer" in m.value for m in at.sidebar.markdown)
    user_repo(empty_url).set_teams("viewer", ["ml"])  # so does a team change
    at.run()
    assert shows_sign_in_form(at)


def test_a_password_reset_ends_every_session_of_the_user(app: AppFactory, empty_url: str) -> None:
    first, second, other = app(empty_url, user="dev"), app(empty_url, user="dev"), app(empty_url, user="lead")
    assert len(session_repo(empty_url).of_user("dev")) == 2
    repo = user_repo(empty_url)
    repo.set_password("dev", repo.get("dev").password_hash)  # type: ignore[union-attr]  # what reset-password does
    for at in (first.run(), second.run()):
        assert shows_sign_in_form(at) and has_no_data(at)
    assert other.run().title[0].value == "Health"  # other users stay signed in


def test_a_sign_in_writes_a_strict_short_lived_token_cookie(app: AppFactory, empty_url: str) -> None:
    at = sign_in(app(empty_url, user=None), "lead", USERS["lead"][2])
    [script] = cookie_scripts(at)
    assert "pulse_auth=" in script and "SameSite=Strict" in script and "Max-Age=3600;" in script
    assert '"https:" ? "; Secure"' in script
    token = script.split("pulse_auth=")[1].split(";")[0]
    assert len(token) >= 43 and "." not in token  # a random token, not a JWT with claims
    [live] = session_repo(empty_url).of_user("lead")
    db = open_store(load_settings(database_url=empty_url)).engine
    with db.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM sessions").scalar_one()
    assert token not in stored and len(stored) == 64  # only its sha256 is kept
    at.run()
    assert cookie_scripts(at) == [script]  # repeated once, then no more
    assert cookie_scripts(at.run()) == []


def test_pages_a_role_may_not_open_are_hidden_but_answer_with_a_message() -> None:
    from core.access.policy import Principal, Role
    from pages import _auth

    viewer, admin = Principal("v", Role.VIEWER), Principal("a", Role.ADMIN)
    kw = {"title": "Users", "icon": ":material/group:", "url_path": "admin_users"}
    assert _auth.page(viewer, "pages/health.py", **kw).visibility == "hidden"
    assert _auth.page(admin, "pages/health.py", **kw).visibility == "visible"
    assert _auth.page(None, "pages/health.py", **kw).visibility == "visible"  # hidden navigation anyway


def test_the_first_start_creates_the_admin_and_prints_its_password_on_the_terminal(
    app: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"  # no users at all
    at = app(url, user=None)
    out = capsys.readouterr().out
    assert "created user 'admin' (admin) with the password " in out
    password = out.split("with the password ")[1].split()[0]
    page_text = json.dumps([str(el) for el in at.main]) + json.dumps([str(el) for el in at.sidebar])
    assert password not in page_text  # the terminal only, never the browser
    at = sign_in(at, "admin", password)
    assert at.title[0].value == "Health"
    assert app(url, user=None) and "created user" not in capsys.readouterr().out  # never twice
