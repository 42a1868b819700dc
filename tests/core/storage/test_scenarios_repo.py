"""Saved what-if scenarios on SQLite and PostgreSQL: save, replace, list per owner, delete."""

from __future__ import annotations

from core.capacity.scenario import Scenario
from core.storage.repos.scenarios import ScenarioRepo
from core.storage.tsdb import Store


def test_save_replace_list_and_delete_per_owner(store: Store) -> None:
    repo = ScenarioRepo(store.engine)
    growth = Scenario(user_growth_pct=25, hosts_added=2).model_dump_json()
    assert repo.save("ada", "Q3 plan", growth, now_ms=1_000) is False
    assert repo.save("ada", "A first", Scenario().model_dump_json(), now_ms=2_000) is False
    assert repo.save("bob", "Q3 plan", Scenario().model_dump_json(), now_ms=3_000) is False
    assert [r.name for r in repo.list("ada")] == ["A first", "Q3 plan"]  # by name, ada's only

    bigger = Scenario(user_growth_pct=50).model_dump_json()
    assert repo.save("ada", "Q3 plan", bigger, now_ms=4_000) is True  # replaced, not duplicated
    (q3,) = [r for r in repo.list("ada") if r.name == "Q3 plan"]
    assert (q3.created_ms, q3.updated_ms) == (1_000, 4_000)
    assert Scenario.model_validate_json(q3.settings).user_growth_pct == 50
    assert Scenario.model_validate_json(repo.list("bob")[0].settings).user_growth_pct == 0

    assert repo.delete("ada", "Q3 plan") is True
    assert repo.delete("ada", "Q3 plan") is False
    assert [r.name for r in repo.list("ada")] == ["A first"]
    assert [r.name for r in repo.list("bob")] == ["Q3 plan"]
