"""``pulse sources list|test NAME``: the configured sources, and one collection from one of them.

``test`` runs the source's collector once, in the foreground, without the database: it prints how
long it took, how many samples came back (a few of them), and the error in full when it failed.
Exit status 0 when the source answered, 1 when it did not.
"""

from __future__ import annotations

import argparse
import threading
import time

from collectors.base import Collector
from collectors.registry import build_source
from core.kernel.errors import ConfigError
from core.kernel.samples import Sample
from core.kernel.settings import Settings

SHOWN_SAMPLES = 10


def _target(cfg: object) -> str:
    for attr in ("url",):
        if getattr(cfg, attr, None):
            return str(getattr(cfg, attr))
    if servers := getattr(cfg, "servers", None):
        return f"{len(servers)} MCP server(s)"
    if groups := getattr(cfg, "groups", None):
        return f"{len(groups)} process group(s)"
    if getattr(cfg, "dsn", None) is not None:
        return "PostgreSQL (dsn hidden)"
    return ""


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.sources:
        print("no sources configured: add [[sources]] tables to pulse.toml (see docs/operator-guide.md)")
        return 0
    print(f"{'name':<24} {'kind':<11} {'every':>7}  {'state':<8} target")
    for s in settings.sources:
        state = "enabled" if s.enabled else "disabled"
        print(f"{s.name:<24} {s.kind:<11} {s.interval_s:>6g}s  {state:<8} {_target(s)}")
    return 0


def _run(collector: Collector, deadline_s: float) -> tuple[list[Sample] | None, str | None]:
    """collect() in a daemon thread so a source that hangs cannot hang the command."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["samples"] = collector.collect()
        except Exception as exc:  # reported, never raised: this command is for diagnosing
            box["error"] = f"{type(exc).__name__}: {exc}"

    t = threading.Thread(target=target, name=f"pulse-test-{collector.name}", daemon=True)
    t.start()
    t.join(deadline_s)
    if t.is_alive():
        return None, f"no answer within {deadline_s:g}s (the source hangs or is very slow)"
    if "error" in box:
        return None, str(box["error"])
    return list(box["samples"]), None  # type: ignore[call-overload]


def _fmt(s: Sample) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in s.labels)
    return f"  {s.metric}{{{labels}}} {s.value:g}"


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    by_name = {s.name: s for s in settings.sources}
    cfg = by_name.get(args.name)
    if cfg is None:
        known = ", ".join(sorted(by_name)) or "none configured"
        raise ConfigError(f"no source named {args.name!r}; known sources: {known}")
    collector = build_source(cfg)
    deadline = float(getattr(collector, "deadline_s", None) or cfg.deadline_s)
    t0 = time.perf_counter()
    samples, error = _run(collector, deadline)
    took = time.perf_counter() - t0
    if error is not None:
        print(f"{cfg.name} ({cfg.kind}): FAILED after {took:.2f}s: {error}")
        return 1
    assert samples is not None
    partial = collector.health.extra.get("partial_errors") or {}
    state = "DEGRADED" if partial else "OK"
    print(f"{cfg.name} ({cfg.kind}): {state} in {took:.2f}s, {len(samples)} samples")
    for group, err in sorted(partial.items()):
        print(f"  partial failure, {group}: {err}")
    for server, e in sorted((collector.health.extra.get("last_tool_errors") or {}).items()):
        print(f"  tool call {e['tool']} on {server} failed: {e['error']}")
    for s in samples[:SHOWN_SAMPLES]:
        print(_fmt(s))
    if len(samples) > SHOWN_SAMPLES:
        print(f"  ... and {len(samples) - SHOWN_SAMPLES} more")
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="sources_command", required=True)
    sub.add_parser("list", help="the configured sources").set_defaults(func=cmd_list)
    t = sub.add_parser("test", help="collect once from one source and print what came back")
    t.add_argument("name", help="the source's name (see `pulse sources list`)")
    t.set_defaults(func=cmd_test)
