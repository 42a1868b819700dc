"""Settings in the database: what the daemon's poll and the dashboard's seam cost per call.

Figures (SQLite, medians): the revision poll (one ``max(revision)`` query, every
``scheduler.settings_poll_s`` in each daemon, on every console the dashboard builds); the
dashboard's settings in effect when the revision has not moved (the poll alone) against when it
has (overrides read, overlaid, the whole validated); and one audited change through the service.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import Row, fresh_store, median_of, timed
from core.admin.audit import Actor
from core.admin.settings import SettingsService
from core.seam.backend import Backend
from core.storage.repos.settings import SettingsRepo


def run(tmp: Path) -> list[Row]:
    store = fresh_store(tmp, "settings")
    repo = SettingsRepo(store.engine)
    service = SettingsService(store.settings, repo, store.now_ms)
    backend = Backend(store.settings, store)
    intervals = iter(range(2, 100_000))
    service.update("host", {"interval_s": 1}, Actor("root"))
    poll = median_of(200, timed(repo.revision))
    cached = median_of(200, timed(backend.effective))

    def moved() -> None:
        repo.save({"host": {"interval_s": next(intervals)}}, "bench", store.now_ms())
        t0 = time.perf_counter()
        backend.effective()
        fresh.append(time.perf_counter() - t0)

    fresh: list[float] = []
    for _ in range(50):
        moved()
    fresh.sort()
    change = median_of(
        30, timed(lambda: service.update("host", {"interval_s": next(intervals)}, Actor("root")))
    )
    store.close()
    return [
        Row("settings: revision poll (SQLite, median of 200)", f"{poll * 1000:.2f} ms"),
        Row("settings: dashboard settings in effect, revision unchanged", f"{cached * 1000:.2f} ms",
            f"{fresh[len(fresh) // 2] / cached:.0f}x faster than after a change "
            f"({fresh[len(fresh) // 2] * 1000:.1f} ms)"),
        Row("settings: one audited change (validate whole, save, entry)", f"{change * 1000:.1f} ms"),
    ]  # fmt: skip
