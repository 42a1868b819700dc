"""``python -m bench load [--quick] [--browsers N] [--ui-processes N]``: 20 dashboard sessions
while collection runs every second.

Twenty users made with ``pulse users add`` (admins, team leads, developers and viewers of the
demo's teams) sign in through the app's form, two at a time, and every 5 s reload their page or
switch to the next one (Health, Performance, Alerts, Incidents) for 10 minutes (``--quick``: 2
minutes), over a store holding a day of demo history, while ``pulse collect`` collects host and
demo every second and evaluates the default rules every 10 s. ``--browsers N`` (default 3) of the
sessions are contexts of one chromium; the others speak Streamlit's websocket protocol without a
browser (bench/load_ws.py), so the load generator does not take the cores the server needs
(``--browsers 20`` is the chromium-only run). ``--ui-processes N`` (default 1) runs N
``streamlit run app.py`` behind HAProxy with sticky sessions (bench/load_proxy.py); every session
goes through the proxy. Reported: page time p50/p95 of the websocket and the browser sessions (the
action until the page's run has finished; a browser also until its heading is shown), errors
(timeouts, exceptions or error elements on a page, failed sockets), samples lost (host CPU
expected once a second), how late the alert evaluations started, missed runs, and CPU and RSS of
each UI process, HAProxy, the daemon, chromium and the load generator itself.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import browser, common, load_proxy, stack
from bench.common import Row
from bench.load_sessions import Log, monitor, session, sign_in, users, ws_session, ws_sign_in
from collectors.demo.topology import TEAM_NAMES

SESSIONS, EVERY_S, EVAL_S, PASSWORD = 20, 5.0, 10, "bench-load-pass-1"
BROWSERS, UI_PROCESSES = 3, 1  # `--browsers N` of the sessions in chromium; `--ui-processes N`
SIGN_IN_BUDGET_S = 600.0  # all sessions must be signed in by then (half of it with --quick)
PROBE = "host_cpu_utilization_ratio"  # one series, collected every second


def _counters(port: str) -> dict[str, float]:
    """Totals of the daemon's missed runs, job errors and collector errors; missed runs also per job."""
    wanted = ("pulse_job_missed_total", "pulse_job_errors_total", "pulse_collector_errors_total")
    out: dict[str, float] = {}
    for (name, labels), value in stack.scrape(port).items():
        if name in wanted:
            out[name] = out.get(name, 0.0) + value
        if name == "pulse_job_missed_total":
            out[f"missed {dict(labels)['job']}"] = value
    return out


async def _drive(base: str, pids: dict[str, int], port: str, duration_s: float, log: Log) -> None:
    """Sign every user in (two at a time, as people arrive), then run the sessions together: the
    first ``BROWSERS`` in chromium, the others over Streamlit's websocket."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await browser.launch(p) if BROWSERS else None
        if chromium is not None:
            pids["chromium"] = browser.chromium_pid()
            pids["driver"] = browser.driver_pid() or pids["bench"]
        gate = asyncio.Semaphore(2)

        async def arrive(i: int, name: str) -> Any:
            async with gate:
                if i < BROWSERS:
                    return "browser", await sign_in(chromium, base, name, PASSWORD, log)
                return "ws", await ws_sign_in(base, name, PASSWORD, log)

        t0 = time.monotonic()
        everyone = users(SESSIONS, TEAM_NAMES)
        arrivals = [asyncio.ensure_future(arrive(i, n)) for i, (n, _, _) in enumerate(everyone)]
        await asyncio.wait(arrivals, timeout=SIGN_IN_BUDGET_S * (0.5 if common.QUICK else 1))
        for a in arrivals:
            if not a.done():
                a.cancel()
                log.errors.append(
                    f"not signed in within {time.monotonic() - t0:.0f} s (sign-ins two at a time)"
                )
        signed = [a.result() for a in arrivals if a.done() and not a.cancelled() and a.result()[1]]
        log.signed_in = len(signed)
        print(
            f"[load: {len(signed)} of {SESSIONS} signed in, {time.monotonic() - t0:.0f} s]",
            file=sys.stderr,
            flush=True,
        )
        until = time.monotonic() + duration_s
        tasks = [
            session(s, base, until, EVERY_S, i * EVERY_S / SESSIONS, log)
            if kind == "browser"
            else ws_session(s, until, EVERY_S, i * EVERY_S / SESSIONS, log)
            for i, (kind, s) in enumerate(signed)
        ]
        await asyncio.gather(monitor(pids, port, until, 5.0, log), *tasks)
        if chromium is not None:
            await chromium.close()


def _lost(env: dict[str, str], start_ms: int, end_ms: int) -> tuple[int, int, float]:
    """(samples stored, expected, largest gap in s) of the probe series in the window."""
    from core.kernel.settings import load_settings
    from core.storage.tsdb import open_store

    store = open_store(load_settings(database_url=env["PULSE_DATABASE_URL"]))
    try:
        found = store.series(PROBE)
        ids = [i for i, labels in found.iter_rows() if labels.get("host") == socket.gethostname()]
        ts = sorted(store.raw(ids, start_ms, end_ms)["ts"].to_list())
    finally:
        store.close()
    gaps = [(b - a) / 1000 for a, b in zip(ts, ts[1:], strict=False)]
    return len(ts), (end_ms - start_ms) // 1000, max(gaps, default=0.0)


def _usage(log: Log, name: str) -> tuple[float, float, float, float]:
    """(CPU share over the run, RSS at start, RSS at the end, RSS peak) of a watched process."""
    first, last = log.samples[0], log.samples[-1]
    share = (last[f"{name}_cpu"] - first[f"{name}_cpu"]) / (last["t"] - first["t"])
    peak = max(s[f"{name}_rss"] for s in log.samples)
    return share, first[f"{name}_rss"], last[f"{name}_rss"], peak


def _page_row(log: Log, kind: str, label: str) -> Row:
    times = sorted(log.page_s[kind])
    p50 = statistics.median(times) if times else float("nan")
    few = len(times) < 20  # p95 interpolated between the runs seen, not beyond them
    p95 = float("nan")
    if len(times) >= 2:
        p95 = statistics.quantiles(times, n=20, method="inclusive" if few else "exclusive")[-1]
    return Row(
        f"load: page time, {label} (reload or switch every {EVERY_S:.0f} s)",
        f"p50 {p50:.2f} s, p95 {p95:.2f} s",
        f"{len(times)} page runs{' (few: p95 within them)' if few else ''}; max {max(times or [0]):.1f} s",
        "p95 < 2 s",
        "ok" if p95 < 2 else "SLOW",
    )


def _rows(
    log: Log, before: dict[str, float], after: dict[str, float], lost: tuple[int, int, float]
) -> list[Row]:
    late = max(
        (v for j, v in log.lag.items() if j.startswith("alerts:") and j != "alerts:notify"), default=None
    )
    grew = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    stored, expected, gap = lost
    missed = ", ".join(f"{k[7:]} {v:.0f}" for k, v in grew.items() if k.startswith("missed ") and v)
    ws = SESSIONS - BROWSERS
    rows = [
        Row(
            f"load: {SESSIONS} sessions ({ws} websocket, {BROWSERS} chromium), {UI_PROCESSES} UI process(es)",
            f"{log.signed_in} signed in",
            f"sign-in median {statistics.median(log.sign_in_s or [0]):.1f} s",
            f"{SESSIONS}",
            "ok" if log.signed_in == SESSIONS else "FAIL",
        ),
        *([_page_row(log, "ws", f"{ws} websocket session(s)")] if ws else []),
        *([_page_row(log, "browser", f"{BROWSERS} chromium session(s)")] if BROWSERS else []),
        Row(
            "load: errors",
            f"{len(log.errors)}",
            "; ".join(log.errors[:3])[:300],
            "none",
            "ok" if not log.errors else "FAIL",
        ),
        Row(
            f"load: samples lost ({PROBE}, every 1 s)",
            f"{max(0, expected - stored - 1)}",
            f"{stored} stored of {expected} s; largest gap {gap:.1f} s",
            "none",
            "ok" if expected - stored <= 1 and gap < 2.5 else "FAIL",
        ),
        Row(
            f"load: alert evaluation (every {EVAL_S} s), worst start lag",
            "no evaluation seen" if late is None else f"{late:.2f} s",
            f"missed runs {grew.get('pulse_job_missed_total', 0):.0f} ({missed or 'none'}), job errors {grew.get('pulse_job_errors_total', 0):.0f},"
            f" collector errors {grew.get('pulse_collector_errors_total', 0):.0f}",
            "< 1 s, none missed",
            "ok" if late is not None and late < 1 and "alerts:" not in missed else "LATE",
        ),
    ]
    labels = {
        "daemon": "`pulse collect`",
        "haproxy": "haproxy",
        "chromium": f"chromium, {BROWSERS} session(s)",
        "driver": "Playwright's driver (node, without chromium)",
        "bench": f"the load generator (this Python process: {ws} websocket clients, Playwright's client)",
    }
    names = [n[:-4] for n in (log.samples[0] if log.samples else {}) if n.endswith("_cpu")]
    for name in names:
        share, r0, r1, peak = _usage(log, name)
        if name == "machine":
            ours = sum(_usage(log, n)[0] for n in names if n != "machine")
            note = f"this benchmark's processes {ours:.0%}, other work on the machine {share - ours:.0%}"
            rows.append(
                Row(f"load: the whole machine ({os.cpu_count()} cores)", f"{share:.0%} of one core", note)
            )
            continue
        rows.append(
            Row(
                f"load: {labels.get(name, f'dashboard (streamlit) {name}')}",
                f"{share:.0%} of one core",
                f"RSS {r0:.0f} MB at start, {r1:.0f} MB at the end (peak {peak:.0f} MB)",
            )
        )
    runs = len(log.page_s["ws"]) + len(log.page_s["browser"])
    ui_s = sum(_usage(log, n)[0] for n in names if n.startswith("ui")) * (
        log.samples[-1]["t"] - log.samples[0]["t"]
    )
    rows.append(
        Row(
            "load: dashboard CPU per page run (all UI processes)",
            f"{ui_s / max(runs, 1):.2f} CPU s",
            f"{ui_s:.0f} CPU s over {runs} page runs (and the live refresh's and assets' work between)",
        )
    )
    return rows


def _start_uis(env: dict[str, str], folder: Path, pids: dict[str, int]) -> tuple[list[Any], str]:
    """``UI_PROCESSES`` dashboards, behind HAProxy when more than one: (processes, base URL)."""
    procs, bases = [], []
    for i in range(1, UI_PROCESSES + 1):
        (folder / f"ui{i}").mkdir(exist_ok=True)
        proc, base = stack.start_ui(env, folder / f"ui{i}")
        procs.append(proc)
        bases.append(base)
        pids[f"ui{i}"] = proc.pid
    if UI_PROCESSES == 1:
        return procs, bases[0]
    proxy, base = load_proxy.start(folder, [b.removeprefix("http://") for b in bases])
    procs.append(proxy)
    pids["haproxy"] = proxy.pid
    return procs, base


def run(folder: Path) -> list[Row]:
    if UI_PROCESSES > 1:
        load_proxy.haproxy()  # fail early, with the reason, when HAProxy is missing
    duration = 120.0 if common.QUICK else 600.0
    extra = {"PULSE_HOST__INTERVAL_S": "1", "PULSE_DEMO__INTERVAL_S": "1"}
    env = stack.pulse_env(folder, "load", **extra, PULSE_ALERTING__EVALUATION_INTERVAL_S=f"{EVAL_S}s")
    t0 = time.monotonic()
    stack.pulse(env, "db", "upgrade")
    stack.pulse(env, "demo", "--days", "1", "--quiet")
    for name, role, teams in users(SESSIONS, TEAM_NAMES):
        stack.add_user(env, name, role, teams, PASSWORD)
    print(
        f"[load: a day of demo history and {SESSIONS} users, {time.monotonic() - t0:.0f} s;"
        f" load average {os.getloadavg()[0]:.2f}]",
        file=sys.stderr,
        flush=True,
    )
    daemon = stack.start_daemon(env, folder / "load")
    port = env["PULSE_METRICS__PORT"]
    log = Log()
    pids: dict[str, Any] = {"daemon": daemon.pid, "bench": os.getpid()}
    uis: list[Any] = []
    try:
        uis, base = _start_uis(env, folder / "load", pids)
        time.sleep(10)
        before, start_ms = _counters(port), int(time.time() * 1000)
        asyncio.run(_drive(base, pids, port, duration, log))
        after, end_ms = _counters(port), int(time.time() * 1000)
    finally:
        for proc in reversed(uis):
            stack.stop(proc)
        stack.stop(daemon)
    return _rows(log, before, after, _lost(env, start_ms, end_ms - 2000))
