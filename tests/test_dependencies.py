"""Every dependency in pyproject.toml has a lower and an upper bound, and the installed version (the
one the suite runs against) lies between them. The bounds follow one rule: the lower bound is a
version the tests ran against, the upper bound the next major (the next minor for 0.x)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(r) for r in [*project["dependencies"], *(r for rs in extras.values() for r in rs)]]


def _bounds(req: Requirement) -> tuple[Version | None, Version | None]:
    lower = next((Version(s.version) for s in req.specifier if s.operator == ">="), None)
    upper = next((Version(s.version) for s in req.specifier if s.operator == "<"), None)
    return lower, upper


@pytest.mark.parametrize("req", _requirements(), ids=lambda r: r.name)
def test_bounded_and_installed_within(req: Requirement) -> None:
    lower, upper = _bounds(req)
    assert lower is not None and upper is not None, f"pyproject.toml: {req} needs both >= and <"
    epoch = f"{lower.epoch}!" if lower.epoch else ""  # grafana-foundation-sdk versions carry an epoch
    if lower.major == 0:
        assert upper <= Version(f"{epoch}0.{lower.minor + 1}"), (
            f"{req}: a 0.x library is capped at its next minor"
        )
    else:
        assert upper <= Version(f"{epoch}{lower.major + 1}"), f"{req}: capped at the next major"
    installed = metadata.version(req.name)
    assert req.specifier.contains(installed, prereleases=True), (
        f"{req.name} {installed} is installed but pyproject.toml says {req.specifier}"
    )


def _imported_top_levels() -> set[str]:
    """Top-level modules imported anywhere in Pulse's own code (app, pages, core, collectors)."""
    import ast

    root = PYPROJECT.parent
    files = [root / "app.py", *(p for d in ("pages", "core", "collectors") for p in (root / d).rglob("*.py"))]
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_imported_module_belongs_to_a_declared_runtime_dependency() -> None:
    """A module our code imports belongs to a dependency pyproject.toml names itself, not one that
    only comes with another (pandas with Streamlit, requests with prometheus-api-client): that
    other package may drop it or move its major in any release. A shared site-packages would hide
    an undeclared dependency; this check does not."""
    import sys

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}
    owners = metadata.packages_distributions()
    own = {"app", "pages", "core", "collectors"}
    missing = {}
    for name in sorted(_imported_top_levels() - own - set(sys.stdlib_module_names)):
        dists = {d.lower().replace("_", "-") for d in owners.get(name, [])}
        if not dists & declared:
            missing[name] = sorted(dists) or ["no installed distribution"]
    assert not missing, f"imported but not declared in pyproject.toml's dependencies: {missing}"
