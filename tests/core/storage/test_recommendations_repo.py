"""The recommendation events table on SQLite and PostgreSQL: append, history, latest per key."""

from __future__ import annotations

from collections.abc import Callable

from core.kernel.records.recommendations import RecommendationEvent
from core.storage.repos.recommendations import RecommendationRepo
from core.storage.tsdb import Store


def ev(key: str, team: str, state: str, at_ms: int, until_ms: int | None = None) -> RecommendationEvent:
    return RecommendationEvent(
        key, key.split(":")[0], key.split(":")[1], team, state, f"why {at_ms}", "ann", at_ms, until_ms
    )  # type: ignore[arg-type]


def test_append_history_and_latest(make_store: Callable[..., Store]) -> None:
    repo = RecommendationRepo(make_store().engine)
    first = repo.append(ev("rightsizing:a", "platform", "applied", 1))
    assert first.id is not None and first.state == "applied"
    repo.append(ev("rightsizing:a", "platform", "open", 2))
    repo.append(ev("rightsizing:b", "data", "snoozed", 3, until_ms=10))
    repo.append(ev("database:idx", "", "dismissed", 4))
    assert [e.state for e in repo.history("rightsizing:a")] == ["applied", "open"]
    assert [(e.key, e.state) for e in repo.latest()] == [
        ("database:idx", "dismissed"),
        ("rightsizing:b", "snoozed"),
        ("rightsizing:a", "open"),
    ]
    assert repo.latest()[1].until_ms == 10
    assert [e.key for e in repo.latest(frozenset({"platform"}))] == ["rightsizing:a"]
    assert repo.latest(frozenset()) == [] and repo.history("nope") == []
