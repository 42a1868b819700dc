"""``[api]``: tokens required when enabled, long enough, unique, read-only when team-scoped; never echoed."""

from __future__ import annotations

from typing import Any

import pytest

from core.kernel.errors import ConfigError
from core.kernel.settings import load_settings

GOOD = "0123456789abcdef-secret"


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ({"enabled": True}, "at least one [[api.tokens]] is required"),
        ({"tokens": [{"name": "g", "token": "short-secret-x"}]}, "token of g: at least 16 characters"),
        ({"tokens": [{"name": "g", "token": f" {GOOD}"}]}, "without surrounding spaces"),
        (
            {"tokens": [{"name": "t", "token": GOOD, "teams": ["a"], "write": True}]},
            "team-scoped token is read-only",
        ),
        (
            {"tokens": [{"name": "a", "token": GOOD}, {"name": "b", "token": GOOD}]},
            "names and tokens must be unique",
        ),
        ({"tokens": [{"name": "a", "token": GOOD, "colour": "red"}]}, "Extra inputs are not permitted"),
        ({"port": 70000}, "api.port"),
    ],
)
def test_bad_api_settings_name_the_problem_without_the_secret(api: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(api=api)
    assert message in str(exc.value)
    assert GOOD not in str(exc.value) and "short-secret-x" not in str(exc.value)


def test_good_api_settings() -> None:
    s = load_settings(
        api={
            "enabled": True,
            "tokens": [{"name": "g", "token": GOOD}, {"name": "t", "token": GOOD + "2", "teams": ["a"]}],
        }
    )
    assert s.api.port == 9466 and [t.teams for t in s.api.tokens] == [None, ["a"]]
    assert GOOD not in repr(s) and GOOD not in str(s.model_dump())
