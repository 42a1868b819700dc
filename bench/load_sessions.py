"""The sessions of ``bench load``: signed-in users in one chromium or on Streamlit's websocket
(bench/load_ws.py), each refreshing or switching page every few seconds, and a monitor sampling the
processes and the daemon's /metrics meanwhile."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench import browser, stack
from bench.load_ws import WsSession
from bench.procstat import cpu_s, machine_busy_s, rss_mb, tree_cpu_s

ROLES = ("admin", "team_lead", "developer", "viewer")


@dataclass
class Log:
    page_s: dict[str, list[float]] = field(default_factory=lambda: {"ws": [], "browser": []})
    sign_in_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    actions: int = 0
    signed_in: int = 0
    lag: dict[str, float] = field(default_factory=dict)  # job -> worst lag seen
    samples: list[dict[str, float]] = field(default_factory=list)  # cpu/rss per process over time


def users(n: int, teams: tuple[str, ...]) -> list[tuple[str, str, list[str]]]:
    """(name, role, teams) of ``n`` users: the four roles in turn, teams spread over the demo's."""
    out = []
    for i in range(n):
        role = ROLES[i % len(ROLES)]
        mine = [] if role == "admin" else [teams[i % len(teams)], teams[(i + 3) % len(teams)]]
        out.append((f"load-{role.replace('_', '-')}-{i}", role, mine))
    return out


async def sign_in(chromium: Any, base: str, user: str, password: str, log: Log) -> Any:
    """A page signed in as ``user``, or None (the failure logged as an error of the run)."""
    t0 = time.perf_counter()
    try:
        page = await browser.sign_in(chromium, base, user, password)
    except Exception as exc:
        log.errors.append(f"{user}: sign-in: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return None
    log.sign_in_s.append(time.perf_counter() - t0)
    return page


async def session(page: Any, base: str, until: float, every_s: float, offset: float, log: Log) -> None:
    """Every ``every_s`` reload the page or switch to the next one, until ``until``."""
    await asyncio.sleep(offset)
    paths, i, k = list(browser.PAGES), 0, 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += every_s
        reload, k = k % 2 == 0, k + 1
        if not reload:
            i = (i + 1) % len(paths)
        try:
            took, shown = await browser.open_page(page, base, paths[i], reload)
            log.page_s["browser"].append(took)
            if shown:
                log.errors.append(f"{paths[i]}: {shown} error element(s) on the page")
        except Exception as exc:
            log.errors.append(f"{paths[i]}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        log.actions += 1
        next_at = max(next_at, time.monotonic())  # a slow page delays this session's next action
    await page.context.close()


async def ws_sign_in(base: str, user: str, password: str, log: Log) -> WsSession | None:
    """A websocket session signed in as ``user`` through the app's form, or None (logged)."""
    t0 = time.perf_counter()
    client = WsSession(base)
    try:
        run = await client.sign_in(user, password)
    except Exception as exc:
        await client.close()
        log.errors.append(f"{user}: ws sign-in: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return None
    log.sign_in_s.append(time.perf_counter() - t0)
    if run.errors:
        log.errors.append(f"{user}: Health after sign-in: {'; '.join(run.errors)[:200]}")
    return client


async def ws_session(client: WsSession, until: float, every_s: float, offset: float, log: Log) -> None:
    """As :func:`session` over the websocket: a reload is a new connection, a switch a rerun."""
    await client.idle(offset)
    paths, i, k = list(browser.PAGES), 0, 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        await client.idle(next_at - time.monotonic())
        next_at += every_s
        reload, k = k % 2 == 0, k + 1
        if not reload:
            i = (i + 1) % len(paths)
        try:
            run = await (client.open(paths[i]) if reload else client.rerun(paths[i]))
            log.page_s["ws"].append(run.seconds)
            if browser.PAGES[paths[i]] not in run.headings:
                log.errors.append(f"{paths[i]} (ws): no heading {browser.PAGES[paths[i]]!r}")
            if run.errors:
                log.errors.append(f"{paths[i]} (ws): {'; '.join(run.errors)[:200]}")
        except Exception as exc:
            log.errors.append(f"{paths[i]} (ws): {type(exc).__name__}: {str(exc)[:200]}")
            await client.close()
            k = 0  # the next action reloads (reconnects to) this page
        log.actions += 1
        next_at = max(next_at, time.monotonic())
    await client.close()


ALONE = {"bench", "driver"}  # measured without their children (chromium is a child of the driver)


async def monitor(pids: dict[str, int], metrics_port: str, until: float, every_s: float, log: Log) -> None:
    """Every ``every_s``: CPU seconds and RSS of each process, and the worst job lag so far."""
    while time.monotonic() < until:
        row = {"t": time.monotonic(), "machine_cpu": machine_busy_s(), "machine_rss": 0.0}
        for name, pid in pids.items():
            row[f"{name}_cpu"] = cpu_s(pid, reaped=False) if name in ALONE else tree_cpu_s(pid)
            row[f"{name}_rss"] = rss_mb(pid)
        log.samples.append(row)
        try:
            scraped = await asyncio.to_thread(stack.scrape, metrics_port)
        except OSError as exc:
            log.errors.append(f"daemon /metrics: {exc}")
            scraped = {}
        for (name, labels), value in scraped.items():
            if name == "pulse_job_lag_seconds":
                job = dict(labels)["job"]
                log.lag[job] = max(log.lag.get(job, 0.0), value)
        await asyncio.sleep(every_s)
