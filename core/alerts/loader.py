"""Rule files: Pulse rule YAML and Prometheus alerting-rule YAML, with errors that name the line.

Both formats share the outer shape ``groups: [{name, interval, rules: [...]}]``. A Pulse rule
has ``query`` (a selector) or ``promql`` + ``source``; a Prometheus rule has ``expr`` and is
imported as a ``promql`` rule evaluated through the named Prometheus source (its ``severity``
label becomes the rule's severity). Recording rules (``record:`` + ``expr``, the same in both
formats) are kept in their group's ``recording`` (core/alerts/recording.py).

``expr``/``promql`` are parsed as PromQL (promql-parser) and every error of every rule is
collected (``check_rules``; ``parse_rules`` raises them together). A label or annotation template
Pulse cannot render is a warning on its rule, never an error: the rule loads and the text renders
as Prometheus' ``<error expanding template: ...>``. A group without ``interval`` keeps none (the
global evaluation interval applies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from pydantic import ValidationError

from core.alerts.recording import RecordingRule
from core.alerts.rules import Rule, RuleGroup
from core.alerts.templates import TemplateError, check_template, uses_query
from core.kernel.errors import ConfigError
from core.kernel.records.alerts import SEVERITIES
from core.kernel.settings import Settings

DEFAULT_RULES = Path(__file__).with_name("default_rules.yml")  # Pulse's default rule pack


@dataclass
class RuleSet:
    groups: list[RuleGroup] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # group name -> the rule file it came from

    @property
    def rules(self) -> int:
        return sum(len(g.rules) for g in self.groups)

    @property
    def recording(self) -> int:
        return sum(len(g.recording) for g in self.groups)


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


def _why(exc: ValidationError) -> list[str]:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return parts


def template_warnings(rule: Rule) -> list[str]:
    """Templates Pulse cannot render: each a warning on its rule, never an error of the file.

    The rule loads; such a text renders as Prometheus' ``<error expanding template: ...>``.
    """
    out = []
    for kind, texts in (("labels", rule.labels), ("annotations", rule.annotations)):
        for key, text in texts.items():
            try:
                check_template(text, rule.alert)
            except TemplateError as exc:
                out.append(
                    f"{kind}.{key}: {exc} (the rule loads, this text renders as an error;"
                    " promtool check rules refuses it)"
                )
                continue
            if rule.promql is None and uses_query(text):
                out.append(
                    f"{kind}.{key}: uses query, which needs a Prometheus source: a Pulse rule"
                    " (query:) has none, so this text renders as an error"
                )
    return out


def _from_prometheus(raw: dict[str, Any], source: str | None) -> dict[str, Any]:
    labels = dict(raw.get("labels") or {})
    severity = labels.pop("severity", "warning")
    out = {k: v for k, v in raw.items() if k not in ("expr", "labels")}
    if severity not in SEVERITIES:
        labels["severity_original"] = str(severity)
        severity = "warning"
    return {**out, "promql": raw["expr"], "source": source or None, "severity": severity, "labels": labels}


def _promql_errors(r: dict[str, Any]) -> list[str]:
    """``expr``/``promql`` parsed as Prometheus does (the promql-parser package)."""
    out = []
    for key in ("expr", "promql"):
        text = r.get(key)
        if text is None:
            continue
        try:
            promql_parser.parse(str(text))
        except ValueError as exc:
            out.append(f"{key}: invalid PromQL: {exc}")
    return out


def check_rules(text: str, origin: str = "<rules>", prometheus_source: str | None = None) -> RuleSet:
    """Parse a rule file's text, collecting every error (``errors``) instead of raising."""
    out = RuleSet()
    try:
        data = yaml.safe_load(text)
        lines = _lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        out.errors.append(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}")
        return out
    if data is None or data == {} or (isinstance(data, dict) and "groups" in data and data["groups"] is None):
        data = {"groups": []}  # an empty file, or `groups:` with nothing: no rules, as promtool reads it
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        out.errors.append(f"{origin}: a rule file is a mapping with a 'groups' list")
        return out
    errors = out.errors
    names: set[str] = set()
    for i, g in enumerate(data["groups"]):
        gline = f"{origin}:{lines.get((i,), '?')}"
        # `rules:` with nothing under it (None) is an empty group, as promtool reads it
        if not isinstance(g, dict) or not isinstance(g.get("rules") or [], list):
            errors.append(
                f"{gline}: group {i + 1}: a group is a mapping with name, interval and a rules list"
            )
            continue
        gname = str(g.get("name", ""))
        if gname in names:
            errors.append(f"{gline}: group {gname!r} appears twice")
        names.add(gname)
        rules: list[Rule] = []
        recs: list[RecordingRule] = []
        for j, r in enumerate(g.get("rules") or []):
            rline = f"{origin}:{lines.get((i, j), '?')}"
            label = f"group {gname!r}, rule {j + 1}"
            if not isinstance(r, dict):
                errors.append(f"{rline}: {label}: a rule is a mapping")
                continue
            label = f"group {gname!r}, rule {r.get('alert') or r.get('record') or j + 1!r}"
            problems = _promql_errors(r)
            if "record" in r:
                try:
                    recs.append(RecordingRule.model_validate({"source": prometheus_source or None, **r}))
                except ValidationError as exc:
                    problems += _why(exc)
                errors += [f"{rline}: {label}: {p}" for p in problems]
                continue
            try:
                raw = _from_prometheus(r, prometheus_source) if "expr" in r else r
                rule = Rule.model_validate(raw)
            except ValidationError as exc:
                problems += _why(exc)
            except ValueError as exc:
                problems.append(str(exc))
            else:
                out.warnings += [f"{rline}: {label}: {w}" for w in template_warnings(rule)]
                if not problems:
                    rules.append(rule)
            errors += [f"{rline}: {label}: {p}" for p in problems]
        try:
            out.groups.append(
                RuleGroup.model_validate(
                    {**{k: v for k, v in g.items() if k != "rules"}, "rules": rules, "recording": recs}
                )
            )
        except ValidationError as exc:
            errors += [f"{gline}: group {gname!r}: {p}" for p in _why(exc)]
    return out


def parse_rules(text: str, origin: str = "<rules>", prometheus_source: str | None = None) -> RuleSet:
    """Parse a rule file's text; ConfigError lists every error, each naming the file, the line,
    the group and the rule."""
    out = check_rules(text, origin, prometheus_source)
    if out.errors:
        raise ConfigError("invalid rules:\n  " + "\n  ".join(out.errors))
    return out


def load_rule_file(path: Path, prometheus_source: str | None = None, strict: bool = True) -> RuleSet:
    """A rule file; ``strict=False`` returns the errors in ``RuleSet.errors`` instead of raising."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rule file {path}: {exc}") from exc
    if strict:
        return parse_rules(text, str(path), prometheus_source)
    return check_rules(text, str(path), prometheus_source)


def load_rules(settings: Settings) -> RuleSet:
    """The default pack (unless turned off), the Pulse rule files, the Prometheus rule files."""
    a = settings.alerting
    out = RuleSet()
    files: list[tuple[Path, str | None]] = [(DEFAULT_RULES, None)] if a.default_rules else []
    files += [(p, None) for p in a.rule_files] + [(f.path, f.source) for f in a.prometheus_rule_files]
    loaded = [(path, load_rule_file(path, source)) for path, source in files]
    names = _group_names(loaded)
    for path, rs in loaded:
        for g in rs.groups:
            name = names[(str(path), g.name)]
            if name in out.files:
                raise ConfigError(f"{path}: rule group {name!r} is already defined in {out.files[name]}")
            out.files[name] = str(path)
            out.groups.append(g if name == g.name else g.model_copy(update={"name": name}))
        out.warnings += rs.warnings
    return out


def _group_names(loaded: list[tuple[Path, RuleSet]]) -> dict[tuple[str, str], str]:
    """(file, group name) -> the name the group runs under. Prometheus keys groups by file and
    name, and community packs reuse names across files ("EmbeddedExporter" in dozens of
    awesome-prometheus-alerts files), so a name found in several files is qualified by the
    shortest tail of each file's path that tells them apart: "EmbeddedExporter
    (caddy/embedded-exporter.yml)". A name used by one file only is kept as it is."""
    holders: dict[str, list[Path]] = {}
    for path, rs in loaded:
        for g in rs.groups:
            holders.setdefault(g.name, []).append(path)
    out: dict[tuple[str, str], str] = {}
    for name, paths in holders.items():
        for path in paths:
            out[(str(path), name)] = name if len(paths) == 1 else f"{name} ({_tail(path, paths)})"
    return out


def _tail(path: Path, among: list[Path]) -> str:
    """The fewest trailing parts of ``path`` that no other path of ``among`` ends with."""
    parts = path.parts
    for n in range(1, len(parts) + 1):
        tail = parts[-n:]
        if sum(p.parts[-n:] == tail for p in among) == 1:
            return "/".join(tail)
    return str(path)  # the same file listed twice: its full path (then refused as defined twice)
