"""The default rule pack and docs/runbooks/ stay in step: every default rule links a runbook with
the four parts an on-call reader looks for, and every runbook is reachable from a rule or a doc."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.alerts.loader import load_rule_file
from core.alerts.rules import Rule

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "core" / "alerts" / "default_rules.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
SECTIONS = ("What it means", "How to look", "How to fix", "When to escalate")
VIEWS = (
    "Health",
    "Performance",
    "Alerts",
    "Incidents",
    "Optimization",
    "Capacity",
    "Usage",
    "Self-monitoring",
)
RULES = [r for g in load_rule_file(DEFAULT).groups for r in g.rules]


def sections(text: str) -> dict[str, str]:
    """The runbook's ``## `` sections by title, in their order, each with its text."""
    parts = re.split(r"(?m)^## (.+)$", text)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def problems(path: Path) -> list[str]:
    """What a runbook lacks: a missing or misplaced section, a "how to look" without a Pulse view
    or without a query (a code span or block)."""
    found = sections(path.read_text())
    wrong = [f"{path.name}: no '## {s}' section" for s in SECTIONS if s not in found]
    if wrong:
        return wrong
    order = [t for t in found if t in SECTIONS]
    if order != list(SECTIONS):
        return [f"{path.name}: sections in the order {order}, expected {list(SECTIONS)}"]
    look = found["How to look"]
    if not any(re.search(rf"\b{re.escape(v)}\b view", look) for v in VIEWS):
        wrong.append(f"{path.name}: 'How to look' names no Pulse view ({', '.join(VIEWS)})")
    if "`" not in look:
        wrong.append(f"{path.name}: 'How to look' gives no query or command")
    wrong += [f"{path.name}: '## {s}' is empty" for s in SECTIONS if not found[s].strip()]
    return wrong


def test_the_default_pack_has_thirteen_rules() -> None:
    assert len(RULES) == 13, [r.alert for r in RULES]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.alert)
def test_every_default_rule_links_a_runbook_with_the_four_parts(rule: Rule) -> None:
    url = rule.annotations.get("runbook_url")
    assert url, f"{rule.alert} has no runbook_url annotation"
    path = ROOT / url
    assert path.parent == RUNBOOKS and path.suffix == ".md", f"{rule.alert}: {url} is not in docs/runbooks/"
    assert path.is_file(), f"{rule.alert}: {url} does not exist"
    assert problems(path) == []
    assert f"`{rule.alert}`" in path.read_text(), f"{url} never names the alert {rule.alert}"


def test_every_runbook_has_the_four_parts() -> None:
    assert [p for path in sorted(RUNBOOKS.glob("*.md")) for p in problems(path)] == []


def test_no_runbook_is_an_orphan() -> None:
    """Each runbook is the runbook_url of a default rule, or linked from another document (the
    operator guide's runbooks for Pulse's own metrics): one nobody links is never found."""
    linked = {(ROOT / r.annotations["runbook_url"]).name for r in RULES if "runbook_url" in r.annotations}
    docs = [ROOT / "README.md", *(p for p in (ROOT / "docs").rglob("*.md") if p.parent != RUNBOOKS)]
    for doc in docs:
        linked |= set(re.findall(r"runbooks/([\w.-]+\.md)", doc.read_text()))
    orphans = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.name not in linked)
    assert orphans == []


def test_the_checks_catch_a_runbook_without_its_parts(tmp_path: Path) -> None:
    """The section check itself fails on a runbook in the old form (no escalation, no view)."""
    old = tmp_path / "old.md"
    old.write_text(
        "# Runbook: x\n\n## What it means\n\nx\n\n## How to look\n\nssh in\n\n## How to fix\n\nfix it\n"
    )
    assert problems(old) == ["old.md: no '## When to escalate' section"]
    old.write_text(old.read_text() + "\n## When to escalate\n\nnever\n")
    assert problems(old) == [
        "old.md: 'How to look' names no Pulse view (" + ", ".join(VIEWS) + ")",
        "old.md: 'How to look' gives no query or command",
    ]
