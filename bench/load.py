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
import sys
import time
from pathlib import Path
from typing import Any

from bench import browser, common, load_proxy, stack
from bench.common import Row
from bench.load_report import Plan, rows
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
    plan = Plan(SESSIONS, BROWSERS, UI_PROCESSES, EVERY_S, EVAL_S, PROBE)
    return rows(log, plan, before, after, _lost(env, start_ms, end_ms - 2000))
