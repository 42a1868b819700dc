"""Rule files: Pulse rule YAML and Prometheus alerting-rule YAML, with errors that name the line.

Both formats share the outer shape ``groups: [{name, interval, rules: [...]}]``. A Pulse rule
has ``query`` (a selector) or ``promql`` + ``source``; a Prometheus rule has ``expr`` and is
imported as a ``promql`` rule evaluated through the named Prometheus source (its ``severity``
label becomes the rule's severity). Recording rules (``record:``) are skipped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.alerts.rules import Rule, RuleGroup
from core.kernel.errors import ConfigError
from core.kernel.records.alerts import SEVERITIES
from core.kernel.settings import Settings

DEFAULT_RULES = Path(__file__).with_name("default_rules.yml")  # Pulse's default rule pack


@dataclass
class RuleSet:
    groups: list[RuleGroup] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rules(self) -> int:
        return sum(len(g.rules) for g in self.groups)


def _lines(text: str) -> dict[tuple[int, ...], int]:
    """1-based line of each group (i,) and rule (i, j) node, from the YAML node tree."""
    out: dict[tuple[int, ...], int] = {}
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if key.value == "groups" and isinstance(value, yaml.SequenceNode):
            for i, g in enumerate(value.value):
                out[(i,)] = g.start_mark.line + 1
                if isinstance(g, yaml.MappingNode):
                    for gk, gv in g.value:
                        if gk.value == "rules" and isinstance(gv, yaml.SequenceNode):
                            for j, r in enumerate(gv.value):
                                out[(i, j)] = r.start_mark.line + 1
    return out


def _why(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _from_prometheus(raw: dict[str, Any], source: str | None) -> dict[str, Any]:
    if not source:
        raise ValueError("uses expr (PromQL): give the Prometheus source it is evaluated by (--source NAME)")
    labels = dict(raw.get("labels") or {})
    severity = labels.pop("severity", "warning")
    out = {k: v for k, v in raw.items() if k not in ("expr", "labels")}
    if severity not in SEVERITIES:
        labels["severity_original"] = str(severity)
        severity = "warning"
    return {**out, "promql": raw["expr"], "source": source, "severity": severity, "labels": labels}


def parse_rules(text: str, origin: str = "<rules>", prometheus_source: str | None = None) -> RuleSet:
    """Parse a rule file's text; ConfigError names the file, the line, the group and the rule."""
    try:
        data = yaml.safe_load(text)
        lines = _lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ConfigError(f"{origin}: a rule file is a mapping with a 'groups' list")
    out, errors = RuleSet(), []
    names: set[str] = set()
    for i, g in enumerate(data["groups"]):
        gline = f"{origin}:{lines.get((i,), '?')}"
        if not isinstance(g, dict) or not isinstance(g.get("rules", []), list):
            errors.append(
                f"{gline}: group {i + 1}: a group is a mapping with name, interval and a rules list"
            )
            continue
        gname = str(g.get("name", ""))
        if gname in names:
            errors.append(f"{gline}: group {gname!r} appears twice")
        names.add(gname)
        rules = []
        for j, r in enumerate(g.get("rules") or []):
            rline = f"{origin}:{lines.get((i, j), '?')}"
            label = f"group {gname!r}, rule {j + 1}"
            if not isinstance(r, dict):
                errors.append(f"{rline}: {label}: a rule is a mapping")
                continue
            label = f"group {gname!r}, rule {r.get('alert') or r.get('record') or j + 1!r}"
            if "record" in r:
                out.warnings.append(f"{rline}: {label}: recording rules are not imported (skipped)")
                continue
            try:
                raw = _from_prometheus(r, prometheus_source) if "expr" in r else r
                rules.append(Rule.model_validate(raw))
            except ValidationError as exc:
                errors.append(f"{rline}: {label}: {_why(exc)}")
            except ValueError as exc:
                errors.append(f"{rline}: {label}: {exc}")
        try:
            out.groups.append(
                RuleGroup.model_validate({**{k: v for k, v in g.items() if k != "rules"}, "rules": rules})
            )
        except ValidationError as exc:
            errors.append(f"{gline}: group {gname!r}: {_why(exc)}")
    if errors:
        raise ConfigError("invalid rules:\n  " + "\n  ".join(errors))
    return out


def load_rule_file(path: Path, prometheus_source: str | None = None) -> RuleSet:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rule file {path}: {exc}") from exc
    return parse_rules(text, str(path), prometheus_source)


def load_rules(settings: Settings) -> RuleSet:
    """The default pack (unless turned off), the Pulse rule files, the Prometheus rule files."""
    a = settings.alerting
    out = RuleSet()
    files: list[tuple[Path, str | None]] = [(DEFAULT_RULES, None)] if a.default_rules else []
    files += [(p, None) for p in a.rule_files] + [(f.path, f.source) for f in a.prometheus_rule_files]
    seen: set[str] = set()
    for path, source in files:
        rs = load_rule_file(path, source)
        for g in rs.groups:
            if g.name in seen:
                raise ConfigError(f"{path}: rule group {g.name!r} is already defined in another rule file")
            seen.add(g.name)
        out.groups += rs.groups
        out.warnings += rs.warnings
    return out
