"""pip-audit of Pulse's installed dependencies, judged against an allow-list.

The audited set is the closure of pyproject.toml's runtime and test requirements over the
installed distributions (the shared environment also holds packages Pulse does not use), pinned
to the installed versions and passed to ``pip-audit -r FILE --no-deps --disable-pip``.
A report is judged by ``judge``: every finding must be allowed by an entry of the allow-list (its
id or one of its aliases, same package), every entry must still match a finding (else it is
stale), and every dependency must have been audited (pip-audit reports a dependency it could
not look up as skipped and still says "No known vulnerabilities found").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
ALLOW_FILE = Path(__file__).with_name("pip-audit-allow.toml")
PROJECT = "mcp-pulse"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(pyproject: Path = ROOT / "pyproject.toml", extras: tuple[str, ...] = ("test",)) -> dict[str, str]:
    """{normalised name: installed version} of the project's requirements and theirs, recursively."""
    project = tomllib.loads(pyproject.read_text())["project"]
    todo = [(Requirement(r), "") for r in project["dependencies"]]
    todo += [(Requirement(r), "") for x in extras for r in project["optional-dependencies"][x]]
    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = _norm(req.name)
        for wanted in ["", *sorted(req.extras)]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            dist = metadata.distribution(req.name)
            found[name] = dist.version
            todo += [(Requirement(r), wanted) for r in dist.requires or []]
    return found


def run_pip_audit(pins: dict[str, str], folder: Path, timeout_s: float = 240) -> dict[str, Any]:
    """pip-audit's JSON report on ``pins``; RuntimeError with pip-audit's own words when it fails."""
    reqs, out = folder / "requirements.txt", folder / "pip-audit.json"
    reqs.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    cmd = [sys.executable, "-m", "pip_audit", "-r", str(reqs), "--no-deps", "--disable-pip"]
    cmd += ["--format", "json", "--output", str(out), "--progress-spinner", "off", "--timeout", "20"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if not out.exists() or done.returncode not in (0, 1):  # 1: vulnerabilities found
        raise RuntimeError(f"pip-audit exited {done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    return report


@dataclass(frozen=True)
class Allowed:
    id: str
    package: str
    reason: str


def load_allow_list(path: Path = ALLOW_FILE) -> list[Allowed]:
    """The allow-list; ValueError naming the file and the entry when one is incomplete."""
    data = tomllib.loads(path.read_text())
    out = []
    for i, entry in enumerate(data.get("allow", []), start=1):
        missing = [k for k in ("id", "package", "reason") if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path.name}: [[allow]] entry {i} lacks {', '.join(missing)}")
        out.append(Allowed(entry["id"], _norm(entry["package"]), entry["reason"]))
    return out


@dataclass
class Verdict:
    unexplained: list[str]  # "package version: ID (aliases) fixed in ..."
    stale: list[Allowed]
    unaudited: list[str]  # "package version: why pip-audit skipped it"

    @property
    def ok(self) -> bool:
        return not (self.unexplained or self.stale or self.unaudited)


def judge(report: dict[str, Any], allow: list[Allowed]) -> Verdict:
    unexplained, unaudited, used = [], [], set()
    for dep in report.get("dependencies", []):
        name = _norm(dep["name"])
        if "skip_reason" in dep:
            if name != PROJECT:  # the project itself is not on PyPI
                unaudited.append(f"{name}: {dep['skip_reason']}")
            continue
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            match = [a for a in allow if _norm(a.package) == name and a.id in ids]
            used.update(match)
            if not match:
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix"
                aliases = ", ".join(vuln.get("aliases", []))
                unexplained.append(f"{name} {dep['version']}: {vuln['id']} ({aliases}); fixed in {fixed}")
    return Verdict(unexplained, [a for a in allow if a not in used], unaudited)
