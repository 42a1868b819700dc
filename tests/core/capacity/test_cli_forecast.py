"""``pulse forecast`` in-process on a SQLite store holding 8 days of a few demo series."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.capacity import MODELS
from core.cli import main
from core.kernel.samples import Sample
from core.kernel.settings import load_settings
from core.storage.tsdb import open_store
from tests.core.capacity.demo_history import DAY_MS, model

STEP_MS = 10 * 60_000
KEPT = {"host_disk_utilization_ratio", "host_cpu_utilization_ratio", "platform_active_users"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("forecast")
    url = f"sqlite:///{folder / 'pulse.db'}"
    end = int(time.time() * 1000) // STEP_MS * STEP_MS
    ts = np.arange(end - 8 * DAY_MS, end, STEP_MS, dtype=np.int64)
    values, present = model().evaluate(ts // 1000)
    rows = [i for i, (m, _) in enumerate(model().keys) if m in KEPT]
    store = open_store(load_settings(database_url=url))
    for j in range(len(ts)):
        batch = [
            Sample(model().keys[i][0], model().keys[i][1], int(ts[j]), float(values[i, j]))
            for i in rows
            if present[i, j]
        ]
        store.write(batch)
    store.close()
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in __import__("os").environ if k.startswith("PULSE_")]:
            mp.delenv(key)
        mp.setenv("PULSE_DATABASE_URL", url)
        mp.chdir(folder)
        yield folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["forecast", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_has_points_model_mase_and_exhaustion(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ['host_disk_utilization_ratio{host="host-01"}', "--history", "8d", "--horizon", "3d"]
    rc, out, err = run(capsys, *argv, "--threshold", "0.2", "--format", "json")
    assert rc == 0, err
    (row,) = json.loads(out)
    assert row["series"] == '{host="host-01",mountpoint="/"}' and row["undefined"] is None
    assert row["model"] in {*MODELS, "seasonal_naive"} and row["mase"] >= 0
    assert row["threshold"] == 0.2 and row["exhaustion"] is not None, "the disk is above 20 % already"
    assert len(row["points"]) == 72 and row["level"] == 80
    for p in row["points"]:
        assert p["lower"] <= p["mean"] <= p["upper"]


def test_table_per_series_and_csv(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys, "host_cpu_utilization_ratio", "--history", "8d", "--horizon", "1d", "--threshold", "0.9"
    )
    assert rc == 0, err
    heads = [line for line in out.splitlines() if line.startswith("{")]
    assert len(heads) == 6 and all("model " in h and "MASE " in h for h in heads)
    assert out.count(">= 0.9:") == 6
    rc, out, err = run(capsys, "active_users", "--history", "8d", "--horizon", "12h", "--format", "csv")
    assert rc == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12 and {"ts", "mean", "lower", "upper", "model", "mase"} <= set(rows[0])
    assert all(float(r["lower"]) <= float(r["mean"]) <= float(r["upper"]) for r in rows)


def test_no_data_and_bad_options(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "no_such_metric")
    assert rc == 1 and "no data" in err and out == ""
    rc, _, err = run(capsys, "host_cpu_utilization_ratio", "--level", "120")
    assert rc == 2 and "bad forecast option" in err and "level" in err
