"""AppTest of the Optimization page's Lifecycle tab: marking a right-sizing, the reason a dismissal
needs, the states table, and "too early to tell" right after applying."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pages.conftest import SEEDED_AT, SERVERS, AppFactory, add_users, seed

PAGE = "pages/optimization.py"


@pytest.fixture
def fresh_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/lifecycle.db"
    SEEDED_AT[url] = int(time.time() * 1000)
    seed(url, SEEDED_AT[url])
    add_users(url)
    return url


def test_mark_applied_and_dismissed(app: AppFactory, fresh_url: str) -> None:
    at = app(fresh_url, PAGE, user="lead")
    at.segmented_control(key="opt.tab").set_value("Lifecycle").run()
    assert not at.exception
    assert any("No recommendation has been applied" in i.value for i in at.info)
    mine = sorted(s for s, v in SERVERS.items() if v[1] == "platform")
    assert at.selectbox(key="opt.mark.server").options == mine  # a team lead sees the team's servers
    at.selectbox(key="opt.mark.server").set_value(mine[0])
    at.selectbox(key="opt.mark.state").set_value("dismissed")
    at.button[0].click().run()  # the form's submit button
    assert any("say why it is dismissed" in e.value for e in at.error)
    at.selectbox(key="opt.mark.state").set_value("applied")
    at.text_input(key="opt.mark.reason").set_value("requests cut as recommended")
    at.button[0].click().run()
    assert not at.exception and any("is now applied" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert list(table["key"]) == [f"rightsizing:{mine[0]}"] and list(table["state"]) == ["applied"]
    assert list(table["username"]) == ["lead"]
    assert any("Too early to tell" in i.value for i in at.info)
