"""``pulse import openmetrics FILE``: every sample promtool reads arrives in the store.

Differential: the same file goes through ``promtool tsdb create-blocks-from openmetrics`` and
``promtool tsdb dump``, and through ``pulse import``; the two sets of (series, timestamp, value)
must be equal. Files: a real node-exporter page scraped once (OpenMetrics), and a generated file
with many timestamped points per series of a histogram, a summary and counters with resets (what
prometheus_client's parser loses). Malformed files are refused line by line, nothing imported.
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from core.cli.main import main
from core.kernel.exposition import parse_sample
from core.kernel.selector import Matcher
from core.kernel.settings import load_settings
from core.promql import StoreSource
from core.storage.tsdb import open_store
from tests.cli.test_cli import use_db
from tests.promstack import NODE_EXPORTER, PROMTOOL, NodeExporter, require_binary

Key = tuple[str, tuple[tuple[str, str], ...], int, str]  # metric, labels, ts ms, repr(value)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["import", "openmetrics", *argv, "--quiet"])
    return rc, out.getvalue(), err.getvalue()


def _key(metric: str, labels: tuple[tuple[str, str], ...], ts: int, value: float) -> Key:
    return (metric, labels, int(ts), "NaN" if math.isnan(value) else repr(float(value)))


def promtool_samples(path: Path, root: Path) -> set[Key]:
    """What promtool backfills from ``path``, read back with ``promtool tsdb dump``."""
    require_binary(PROMTOOL, "prometheus")
    blocks = root / "blocks"
    subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(path), str(blocks)],
        check=True,
        capture_output=True,
    )
    (blocks / "wal").mkdir(exist_ok=True)  # dump opens the folder as a TSDB, which has a WAL
    dump = subprocess.run([PROMTOOL, "tsdb", "dump", str(blocks)], check=True, capture_output=True, text=True)
    out = set()
    for line in dump.stdout.splitlines():
        p = parse_sample("x" + line, 0, ms=True)  # {__name__="m", a="b"} value ts_ms
        labels = dict(p.labels)
        name = labels.pop("__name__")
        out.add(_key(name, tuple(sorted(labels.items())), p.ts_ms or 0, p.value))
    return out


def store_samples(db: Path) -> set[Key]:
    store = open_store(load_settings(database_url=f"sqlite:///{db}"))
    try:
        found = StoreSource(store).select([Matcher("__name__", "=~", ".+")], 0, 2**53)
    finally:
        store.close()
    out = set()
    for labels, ts, vals in found:
        lb = dict(labels)
        name = lb.pop("__name__")
        out |= {
            _key(name, tuple(sorted(lb.items())), t, v)
            for t, v in zip(ts.tolist(), vals.tolist(), strict=True)
        }
    return out


def test_a_node_exporter_page_arrives_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_binary(NODE_EXPORTER, "prometheus-node-exporter")
    exporter = NodeExporter(tmp_path)
    exporter.start()
    try:
        req = urllib.request.Request(
            f"{exporter.url}/metrics", headers={"Accept": "application/openmetrics-text"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            page = resp.read().decode()
    finally:
        exporter.stop()
    assert "# TYPE node_cpu_seconds_total counter" in page  # Debian's serves the text format 0.0.4
    at_s = int(time.time()) - 60
    raw, stamped = tmp_path / "page.om", tmp_path / "stamped.om"
    raw.write_text(page)
    lines = [ln if ln.startswith("#") else f"{ln} {at_s}" for ln in page.splitlines() if ln != "# EOF"]
    stamped.write_text("\n".join(lines) + "\n# EOF\n")  # promtool wants OpenMetrics' end marker
    db = use_db(monkeypatch, tmp_path)
    rc, out, err = run(str(raw))  # no timestamps: refused, naming the line
    assert rc == 1 and f"{raw}:" in err and "sample without a timestamp" in err and "nothing imported" in err
    assert not db.exists()
    rc, out, err = run(str(raw), "--at", str(at_s))
    assert rc == 0, err
    expected = promtool_samples(stamped, tmp_path)
    assert len(expected) > 200 and store_samples(db) == expected
    assert f"{len(expected):,} of {len(expected):,} samples" in out


def _many_points(path: Path, start_s: int) -> int:
    """A histogram, a summary and counters with resets, 240 points each at 15 s; returns samples."""
    rng = np.random.default_rng(3)
    lines, n = [], 0
    lines.append("# TYPE rpc_seconds histogram")
    for host in ("a", "b"):
        counts = np.zeros(4)
        total = 0.0
        for i in range(240):
            obs = rng.lognormal(-1, 1, 5)
            counts += [(obs <= b).sum() for b in (0.1, 0.5, 1.0, np.inf)]
            total += float(obs.sum())
            t = start_s + i * 15
            for le, c in zip(("0.1", "0.5", "1.0", "+Inf"), counts, strict=True):
                lines.append(f'rpc_seconds_bucket{{host="{host}",le="{le}"}} {c:g} {t}')
            lines.append(f'rpc_seconds_sum{{host="{host}"}} {total!r} {t}')
            lines.append(f'rpc_seconds_count{{host="{host}"}} {counts[-1]:g} {t}')
            n += 6
    lines.append("# TYPE rpc_latency summary")
    for i in range(240):
        t = start_s + i * 15 + 0.25
        for q in ("0.5", "0.9", "0.99"):
            lines.append(f'rpc_latency{{quantile="{q}"}} {rng.random():.6f} {t}')
        lines += [f"rpc_latency_sum {i * 1.5!r} {t}", f"rpc_latency_count {i * 3} {t}"]
        n += 5
    lines.append("# TYPE jobs counter")
    value = 0
    for i in range(240):
        value = 0 if i in (80, 170) else value + int(rng.integers(0, 9))  # two restarts
        lines.append(f'jobs_total{{queue="q\\"1\\""}} {value} {start_s + i * 15}.5 # {{trace_id="abc"}} 1.0')
        n += 1
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return n


def test_many_points_per_series_all_arrive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "history.om"
    n = _many_points(path, int(time.time()) // 60 * 60 - 7200)
    db = use_db(monkeypatch, tmp_path)
    rc, out, err = run(str(path))
    assert rc == 0, err
    expected = promtool_samples(path, tmp_path)
    assert len(expected) == n
    assert store_samples(db) == expected


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ('ok{a="1"} 1 1700000000\nbroken{a="1" 2 1700000000\n', 2, "expected , or }"),
        ("ok 1 1700000000\nno_value\n", 2, "expected a space and a value"),
        ("ok 1 1700000000\nok two 1700000000\n", 2, "value 'two' is not a number"),
        ("ok 1 1700000000\nok 1 1700000000 extra\n", 2, "got 3 fields"),
        ('m{a="1",a="2"} 1 1700000000\n', 1, "label 'a' appears twice"),
        ("ok 1 1700000000000\n", 1, "milliseconds? (use --ms)"),
        ("# TYPE ok countr\nok 1 1700000000\n", 1, "unknown metric type 'countr'"),
        ("ok 1 1700000000\n# EOF\nok 2 1700000015\n", 3, "content after # EOF"),
        ("9bad 1 1700000000\n", 1, "expected a metric name"),
    ],
)
def test_malformed_lines_are_named_and_nothing_is_imported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str, line: int, problem: str
) -> None:
    path = tmp_path / "bad.om"
    path.write_text(body)
    db = use_db(monkeypatch, tmp_path)
    rc, out, err = run(str(path))
    assert rc == 1 and f"{path}:{line}: " in err and problem in err, err
    assert "Traceback" not in err and not db.exists()


def test_skip_malformed_imports_the_rest_and_lists_what_it_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    now = int(time.time())
    path = tmp_path / "mixed.om"
    path.write_text(f"good 1 {now - 30}\nbad{{ 2\ngood 3 {now - 15}\nfuture 4 {now + 86400}\n")
    db = use_db(monkeypatch, tmp_path)
    rc, out, err = run(str(path), "--skip-malformed")
    assert rc == 1 and f"{path}:2: malformed label" in err
    assert "2 of 3 samples" in out and "future 1" in out and "1 malformed line(s) skipped" in out
    assert {(k[0], k[3]) for k in store_samples(db)} == {("good", "1.0"), ("good", "3.0")}


def test_missing_and_unreadable_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_db(monkeypatch, tmp_path)
    rc, _out, err = run(str(tmp_path / "absent.om"))
    assert rc == 2 and "absent.om: no such file" in err
    binary = tmp_path / "blob.om"
    binary.write_bytes(b"\xff\xfe\x00junk")
    rc, _out, err = run(str(binary))
    assert rc == 2 and "not UTF-8 text" in err and "Traceback" not in err
