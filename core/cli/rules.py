"""``pulse rules check|export|import``: rule files in Pulse's format and in Prometheus'.

- ``check FILE...`` validates Pulse and Prometheus rule files (``expr`` rules as PromQL rules,
  their PromQL parsed); it prints each file's counts, or every error of every rule, each naming
  the file, the line, the group and the rule, then the warnings (templates Pulse cannot render,
  skipped recording rules). Exit status 1 when a file has errors; warnings never fail it.
- ``export [FILE...] [-o OUT]`` writes Pulse rules (default: the default pack) as a Prometheus
  rule file that ``promtool check rules`` accepts (see core/alerts/promexport.py for the mapping).
- ``import PROMFILE --source NAME [-o OUT]`` writes a Prometheus rule file's alerting rules in
  Pulse's format, their PromQL kept and sent to the Prometheus source NAME; recording rules are
  skipped and listed. Groups without ``interval`` stay without one on import and export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from core.alerts.loader import DEFAULT_RULES, RuleSet, load_rule_file
from core.alerts.promexport import export_rules, group_doc
from core.alerts.rule_yaml import pulse_rule
from core.alerts.rules import RuleGroup
from core.kernel.errors import ConfigError, PulseError
from core.kernel.settings import Settings

CHECK_SOURCE = "prometheus"  # the source name `check` and `export` assume for Prometheus `expr` rules


def _write(text: str, out: str | None) -> None:
    if out is None or out == "-":
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PulseError(f"cannot write {out!r}: {exc.strerror or exc}") from exc


def _report_errors(exc: ConfigError) -> None:
    print(f"pulse: error: {exc}", file=sys.stderr)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Every file, every error of every rule (PromQL parsed), then the warnings (templates Pulse
    cannot render): warnings never fail the check."""
    failed = 0
    for name in args.files:
        try:
            rs = load_rule_file(Path(name), prometheus_source=CHECK_SOURCE, strict=False)
        except ConfigError as exc:
            _report_errors(exc)
            failed += 1
            continue
        if rs.errors:
            print(f"pulse: error: {name}: {len(rs.errors)} error(s):", file=sys.stderr)
            for e in rs.errors:
                print(f"  {e}", file=sys.stderr)
            failed += 1
        else:
            promql = sum(1 for g in rs.groups for r in g.rules if r.promql is not None)
            print(
                f"{name}: OK, {len(rs.groups)} group(s), {rs.rules} alerting rule(s)"
                f" ({rs.rules - promql} Pulse, {promql} PromQL), {rs.recording} recording rule(s)"
            )
        for w in rs.warnings:
            print(f"  warning: {w}")
    if failed:
        print(f"{failed} of {len(args.files)} file(s) have errors", file=sys.stderr)
    return 1 if failed else 0


def _load_all(files: list[str], source: str) -> list[RuleGroup]:
    groups: list[RuleGroup] = []
    seen: dict[str, str] = {}
    for name in files:
        rs: RuleSet = load_rule_file(Path(name), prometheus_source=source)
        for w in rs.warnings:
            print(f"pulse: {w}", file=sys.stderr)
        for g in rs.groups:
            if g.name in seen:  # Prometheus refuses a file with the same group name twice
                raise ConfigError(f"{name}: group {g.name!r} is also in {seen[g.name]}: rename one")
            seen[g.name] = name
        groups += rs.groups
    return groups


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    files = args.files or [str(DEFAULT_RULES)]
    try:
        groups = _load_all(files, CHECK_SOURCE)
    except ConfigError as exc:
        _report_errors(exc)
        return 1
    shown = ", ".join(Path(f).name for f in files)
    header = f"Prometheus alerting rules exported by `pulse rules export` from {shown}."
    _write(export_rules(groups, header), args.output)
    if args.output not in (None, "-"):
        n = sum(len(g.rules) + len(g.recording) for g in groups)
        print(f"wrote {n} rule(s) in {len(groups)} group(s) to {args.output}", file=sys.stderr)
    return 0


def dump_pulse(groups: list[RuleGroup], header: str = "") -> str:
    """Rule groups as a Pulse rule file (what ``parse_rules`` reads back)."""
    doc = {"groups": [group_doc(g, [pulse_rule(r) for r in g.rules], pulse=True) for g in groups]}
    lines = [f"# {line}" for line in header.splitlines()]
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)
    return "\n".join(lines) + ("\n" if lines else "") + body


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rs = load_rule_file(Path(args.file), prometheus_source=args.source)
    except ConfigError as exc:
        _report_errors(exc)
        return 1
    for w in rs.warnings:
        print(f"pulse: {w}", file=sys.stderr)
    known = {s.name for s in settings.sources if s.kind == "prometheus"}
    if args.source not in (None, "pulse") and args.source not in known:
        print(
            f"pulse: note: no prometheus source named {args.source!r} is configured yet"
            " (add it to pulse.toml before loading these rules)",
            file=sys.stderr,
        )
    where = (
        f"the Prometheus source {args.source!r}"
        if args.source not in (None, "pulse")
        else "Pulse's own store"
    )
    header = (
        f"Imported by `pulse rules import` from {Path(args.file).name}: PromQL kept, evaluated on {where}."
    )
    _write(dump_pulse(rs.groups, header), args.output)
    print(
        f"imported {rs.rules} alerting rule(s) and {rs.recording} recording rule(s)"
        f" in {len(rs.groups)} group(s)",
        file=sys.stderr,
    )
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="rules_command", required=True)
    c = sub.add_parser("check", help="validate Pulse or Prometheus rule files; errors name the line")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=cmd_check)
    e = sub.add_parser("export", help="write Pulse rules as a Prometheus rule file (promtool-checked)")
    e.add_argument("files", nargs="*", metavar="FILE", help="Pulse rule files (default: the default pack)")
    e.add_argument("-o", "--output", default=None, metavar="OUT", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_export)
    i = sub.add_parser("import", help="turn a Prometheus rule file into Pulse rules that keep the PromQL")
    i.add_argument("file", metavar="PROMFILE")
    i.add_argument(
        "--source",
        default=None,
        metavar="NAME",
        help="the Prometheus source evaluating them (default: Pulse's own store)",
    )
    i.add_argument("-o", "--output", default=None, metavar="OUT", help="file to write (default: stdout)")
    i.set_defaults(func=cmd_import)
