"""The report of ``bench load``: page times per kind of session, errors, samples lost, alert
lag, and CPU and RSS of each process it watched, beside the whole machine's CPU."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from bench.common import Row
from bench.load_sessions import Log


@dataclass(frozen=True)
class Plan:
    """What the run was: sessions, how many in chromium, UI processes, pace and probe."""

    sessions: int
    browsers: int
    ui_processes: int
    every_s: float
    eval_s: int
    probe: str


def usage(log: Log, name: str) -> tuple[float, float, float, float]:
    """(CPU share over the run, RSS at start, RSS at the end, RSS peak) of a watched process."""
    first, last = log.samples[0], log.samples[-1]
    share = (last[f"{name}_cpu"] - first[f"{name}_cpu"]) / (last["t"] - first["t"])
    peak = max(s[f"{name}_rss"] for s in log.samples)
    return share, first[f"{name}_rss"], last[f"{name}_rss"], peak


def _page_row(log: Log, plan: Plan, kind: str, label: str) -> Row:
    times = sorted(log.page_s[kind])
    p50 = statistics.median(times) if times else float("nan")
    few = len(times) < 20  # p95 interpolated between the runs seen, not beyond them
    p95 = float("nan")
    if len(times) >= 2:
        p95 = statistics.quantiles(times, n=20, method="inclusive" if few else "exclusive")[-1]
    return Row(
        f"load: page time, {label} (reload or switch every {plan.every_s:.0f} s)",
        f"p50 {p50:.2f} s, p95 {p95:.2f} s",
        f"{len(times)} page runs{' (few: p95 within them)' if few else ''}; max {max(times or [0]):.1f} s",
        "p95 < 2 s",
        "ok" if p95 < 2 else "SLOW",
    )


def rows(
    log: Log, plan: Plan, before: dict[str, float], after: dict[str, float], lost: tuple[int, int, float]
) -> list[Row]:
    """The report: sessions, page times, errors, samples lost, alert lag, then :func:`usage_rows`."""
    late = max(
        (v for j, v in log.lag.items() if j.startswith("alerts:") and j != "alerts:notify"), default=None
    )
    grew = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    stored, expected, gap = lost
    missed = ", ".join(f"{k[7:]} {v:.0f}" for k, v in grew.items() if k.startswith("missed ") and v)
    ws = plan.sessions - plan.browsers
    out = [
        Row(
            f"load: {plan.sessions} sessions ({ws} websocket, {plan.browsers} chromium), {plan.ui_processes} UI process(es)",
            f"{log.signed_in} signed in",
            f"sign-in median {statistics.median(log.sign_in_s or [0]):.1f} s",
            f"{plan.sessions}",
            "ok" if log.signed_in == plan.sessions else "FAIL",
        ),
        *([_page_row(log, plan, "ws", f"{ws} websocket session(s)")] if ws else []),
        *([_page_row(log, plan, "browser", f"{plan.browsers} chromium session(s)")] if plan.browsers else []),
        Row(
            "load: errors",
            f"{len(log.errors)}",
            "; ".join(log.errors[:3])[:300],
            "none",
            "ok" if not log.errors else "FAIL",
        ),
        Row(
            f"load: samples lost ({plan.probe}, every 1 s)",
            f"{max(0, expected - stored - 1)}",
            f"{stored} stored of {expected} s; largest gap {gap:.1f} s",
            "none",
            "ok" if expected - stored <= 1 and gap < 2.5 else "FAIL",
        ),
        Row(
            f"load: alert evaluation (every {plan.eval_s} s), worst start lag",
            "no evaluation seen" if late is None else f"{late:.2f} s",
            f"missed runs {grew.get('pulse_job_missed_total', 0):.0f} ({missed or 'none'}), job errors {grew.get('pulse_job_errors_total', 0):.0f},"
            f" collector errors {grew.get('pulse_collector_errors_total', 0):.0f}",
            "< 1 s, none missed",
            "ok" if late is not None and late < 1 and "alerts:" not in missed else "LATE",
        ),
    ]
    return out + usage_rows(log, plan.browsers, ws)


def usage_rows(log: Log, browsers: int, ws: int) -> list[Row]:
    """CPU and RSS of each watched process, the whole machine's CPU, the dashboards' CPU per run."""
    out: list[Row] = []
    labels = {
        "daemon": "`pulse collect`",
        "haproxy": "haproxy",
        "chromium": f"chromium, {browsers} session(s)",
        "driver": "Playwright's driver (node, without chromium)",
        "bench": f"the load generator (this Python process: {ws} websocket clients"
        + (", Playwright's client)" if browsers else ")"),
    }
    names = [n[:-4] for n in (log.samples[0] if log.samples else {}) if n.endswith("_cpu")]
    for name in names:
        share, r0, r1, peak = usage(log, name)
        if name == "machine":
            ours = sum(usage(log, n)[0] for n in names if n != "machine")
            note = f"this benchmark's processes {ours:.0%}, other work on the machine {share - ours:.0%}"
            out.append(
                Row(f"load: the whole machine ({os.cpu_count()} cores)", f"{share:.0%} of one core", note)
            )
            continue
        out.append(
            Row(
                f"load: {labels.get(name, f'dashboard (streamlit) {name}')}",
                f"{share:.0%} of one core",
                f"RSS {r0:.0f} MB at start, {r1:.0f} MB at the end (peak {peak:.0f} MB)",
            )
        )
    runs = len(log.page_s["ws"]) + len(log.page_s["browser"])
    ui_s = sum(usage(log, n)[0] for n in names if n.startswith("ui")) * (
        log.samples[-1]["t"] - log.samples[0]["t"]
    )
    out.append(
        Row(
            "load: dashboard CPU per page run (all UI processes)",
            f"{ui_s / max(runs, 1):.2f} CPU s",
            f"{ui_s:.0f} CPU s over {runs} page runs (and the live refresh's and assets' work between)",
        )
    )
    return out
