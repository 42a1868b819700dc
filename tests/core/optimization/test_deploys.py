"""Deploy and config-change events from stored series, and the nearest one to a change."""

from __future__ import annotations

from collections.abc import Callable

from core.kernel.samples import Sample, labels_of
from core.optimization.deploys import change_events, nearest
from core.storage.tsdb import Store
from tests.conftest import T0_MS, FakeClock

MIN, H = 60_000, 3_600_000


def test_deploys_and_config_changes_located_to_their_bucket(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store = make_store()
    lb = labels_of(server="s1", host="h1", team="t")
    deploy_at, config_at = T0_MS + 100 * MIN, T0_MS + 200 * MIN
    samples = []
    for k in range(6 * 60):
        t = T0_MS + k * MIN
        samples.append(Sample("mcp_server_deploys_total", lb, t, 3.0 if t >= deploy_at else 2.0))
        samples.append(Sample("container_cpu_limit_cores", lb, t, 2.0 if t >= config_at else 1.0))
        samples.append(Sample("container_memory_limit_bytes", lb, t, 1e9))
    clock.advance(6 * 3600 + 600)
    store.write(samples)
    store.run_rollups()
    ev = change_events(store, T0_MS, T0_MS + 6 * H, 5 * MIN)
    rows = ev.rows(named=True)
    assert [(r["kind"], r["ts_ms"]) for r in rows] == [("deploy", deploy_at), ("config", config_at)]
    assert rows[1]["detail"] == "cpu_limit 1.0 -> 2.0"
    assert nearest(ev, "s1", deploy_at + 10 * MIN, 30 * MIN)["kind"] == "deploy"  # type: ignore[index]
    assert nearest(ev, "s1", config_at - 5 * MIN, 30 * MIN)["kind"] == "config"  # type: ignore[index]
    assert nearest(ev, "s1", T0_MS + 5 * H, 30 * MIN) is None
    assert nearest(ev, "other", deploy_at, 30 * MIN) is None
