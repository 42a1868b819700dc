"""UI alert rules on SQLite and PostgreSQL: add (all or none), replace at a revision (renames
included), delete, the version number that moves with every change, and the audit entry
written in the change's transaction."""

from __future__ import annotations

from core.kernel.records.audit import AuditEntry
from core.kernel.records.ui_rules import UiRuleRecord
from core.storage.repos.audit import AuditRepo
from core.storage.repos.ui_rules import UiRuleRepo
from core.storage.tsdb import Store

YAML = "alert: {name}\nquery: g\nthreshold: 1\n"


def rec(group: str, name: str, at: int = 1, enabled: bool = True) -> UiRuleRecord:
    return UiRuleRecord(group, name, YAML.format(name=name), enabled, "ada", at)


def entry(at: int, action: str = "rule.create") -> AuditEntry:
    return AuditEntry(at, "ada", "ui", action, "rule", "g/x")


def test_add_replace_delete_and_the_version(store: Store) -> None:
    repo, log = UiRuleRepo(store.engine), AuditRepo(store.engine)
    assert repo.version() == 0 and repo.all() == []
    assert repo.add([rec("g", "B"), rec("g", "A")], [entry(1), entry(1)]) == []
    assert [(r.group, r.name, r.revision) for r in repo.all()] == [("g", "A", 1), ("g", "B", 1)]
    assert repo.version() == 1
    # one key taken: nothing of the batch is written, no entry, the version stays
    assert repo.add([rec("h", "C"), rec("g", "A")], [entry(2)]) == ["g/A"]
    assert len(repo.all()) == 2 and repo.version() == 1 and len(log.read()) == 2

    saved = repo.replace("g", "A", 1, rec("g", "A", at=5, enabled=False), entry(5, "rule.disable"))
    assert saved is not None and (saved.revision, saved.enabled, saved.updated_ms) == (2, False, 5)
    assert repo.version() == 2
    assert repo.replace("g", "A", 1, rec("g", "A"), entry(6)) is None  # started from an old revision
    assert repo.replace("g", "A", 2, rec("g", "B"), entry(6)) is None  # the new key is taken
    renamed = repo.replace("g", "A", 2, rec("h", "A2", at=7), entry(7, "rule.update"))
    assert renamed is not None and renamed.revision == 3 and repo.get("g", "A") is None
    assert repo.get("h", "A2") == renamed and repo.version() == 3

    assert not repo.delete("h", "A2", 2, entry(8, "rule.delete"))  # old revision: kept
    assert repo.delete("h", "A2", 3, entry(8, "rule.delete"))
    assert [r.name for r in repo.all()] == ["B"] and repo.version() == 4
    # a delete then an add under the same name still moves the version (no lost reload)
    assert repo.delete("g", "B", 1) and repo.add([rec("g", "B")]) == [] and repo.version() == 6
    assert [e.action for e in log.read()] == [
        "rule.delete",
        "rule.update",
        "rule.disable",
        "rule.create",
        "rule.create",
    ]
