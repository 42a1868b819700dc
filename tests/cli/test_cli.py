"""The ``pulse`` command line, in-process through ``core.cli.main`` on SQLite files in tmp_path,
and as a real subprocess where the split of stdout and stderr matters."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from core.cli.main import ROOT, main
from core.kernel.settings import load_settings
from core.storage.tsdb import open_store

HOUR_S = 3600


def clear_pulse_env(mp: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            mp.delenv(key)


def use_db(mp: pytest.MonkeyPatch, folder: Path) -> Path:
    """Point the settings at ``folder`` (database, data dir and working directory)."""
    clear_pulse_env(mp)
    db = folder / "pulse.db"
    mp.setenv("PULSE_DATABASE_URL", f"sqlite:///{db}")
    mp.setenv("PULSE_DATA_DIR", str(folder / "data"))
    mp.chdir(folder)
    return db


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty folder for this test's database (the file does not exist yet)."""
    return use_db(monkeypatch, tmp_path)


@dataclass
class Demo:
    db: Path
    rc: int
    out: str
    err: str
    started_s: float
    finished_s: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One ``pulse demo --days 0.2 --quiet`` for the module; the query tests only read it."""
    folder = tmp_path_factory.mktemp("demo")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        db = use_db(mp, folder)
        started = time.time()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["demo", "--days", "0.2", "--quiet"])
        yield Demo(db, rc, out.getvalue(), err.getvalue(), started, time.time())


@pytest.fixture
def on_demo(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """This test's settings point at the module's demo database."""
    use_db(monkeypatch, demo.db.parent)
    return demo


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    got = capsys.readouterr()
    return rc, got.out, got.err


def assert_one_line_error(rc: int, out: str, err: str, *needles: str) -> None:
    assert rc == 2, (out, err)
    assert out == ""
    assert err.startswith("pulse: error: ") and err.endswith("\n"), err
    assert err.count("\n") == 1, f"not one line: {err!r}"
    for needle in needles:
        assert needle in err, err


# -- db upgrade --------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_prints_the_head_revision(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.storage.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert not db.exists()
    for _ in range(2):  # idempotent
        rc, out, _err = run(capsys, "db", "upgrade")
        assert rc == 0
        assert out == f"database schema at revision {head}\n"
    assert db.stat().st_size > 0


# -- demo and query --------------------------------------------------------------------------------


def test_demo_writes_samples(demo: Demo) -> None:
    assert demo.rc == 0, demo.err
    m = re.fullmatch(
        r"demo: ([\d,]+) samples of 0\.2 days written in [\d.]+ s\n"
        r"evaluating the alert rules over the demo history \.\.\.\n"
        r"alert history: \d+ alerts fired, \d+ incidents, \d+ notifications recorded \(not sent\) in [\d.]+ s\n",
        demo.out,
    )
    assert m, demo.out
    n = int(m.group(1).replace(",", ""))
    assert n > 50_000
    assert "demo history" not in demo.err and "%|" not in demo.err  # --quiet: no progress bar
    store = open_store(load_settings(database_url=f"sqlite:///{demo.db}"))
    try:
        df = store.select(
            "host_cpu_utilization_ratio",
            int((demo.started_s - 0.2 * 86400) * 1000),
            int(demo.finished_s * 1000),
            resolution="raw",
            step_ms=1,
        )
        assert sorted(df["host"].unique()) == [f"host-0{i}" for i in range(1, 7)]
        # 0.2 days every 120 s per host (a host may be down during a scripted incident)
        assert 6 * 100 < df.height <= 6 * 145
        assert df["value"].is_between(0, 1).all()
        assert store.get_meta("demo_backfilled_until_ms") is not None
    finally:
        store.close()


def test_demo_days_default_to_the_setting(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_DEMO__DAYS", "0.02")
    rc, out, err = run(capsys, "demo", "--quiet")
    assert rc == 0, err
    assert " samples of 0.02 days written" in out


def test_demo_reports_rejects_by_reason(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_INGEST__MAX_SERIES_PER_METRIC", "40")
    rc, out, err = run(capsys, "demo", "--days", "0.02", "--quiet")
    assert rc == 0, err
    m = re.search(r"\(rejected, by reason: cardinality ([\d,]+)\)\n", out)
    assert m and int(m.group(1).replace(",", "")) > 0, out
    store = open_store(load_settings())
    try:
        rejects = store.rejects()
        assert set(rejects["reason"]) == {"cardinality"}
        assert rejects["count"].sum() == int(m.group(1).replace(",", ""))
        assert store.series("mcp_server_operation_duration_seconds").height == 40
    finally:
        store.close()


def test_query_prints_a_table(on_demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "query", 'host_cpu_utilization_ratio{host=~"host-0[12]"}', "--start=-2h")
    assert rc == 0, err
    m = re.match(r"shape: \((\d+), 3\)\n", out)
    assert m, out
    assert 2 * 55 <= int(m.group(1)) <= 2 * 61  # two hosts, one sample every 2 minutes for 2 hours
    assert "host-01" in out and "host-02" in out and "host-03" not in out
    assert "ts" in out and "value" in out


def test_query_limit_rows_printed(on_demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "query", "host_load1", "--start=now-1h", "--limit", "4")
    assert rc == 0
    assert sum("UTC ┆" in line for line in out.splitlines()) == 4  # data rows, not the dtype row


def test_query_rate_sum_by_host_to_csv(
    on_demo: Demo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    end = int(on_demo.started_s) // 60 * 60
    start = end - 2 * HOUR_S
    path = tmp_path / "out.csv"
    common = ["--start", str(start), "--end", str(end), "--step", "10m", "--over", "rate"]
    rc, out, err = run(
        capsys,
        "query",
        "mcp_server_tool_calls_total",
        *common,
        "--across",
        "sum",
        "--by",
        "host",
        "--csv",
        str(path),
    )
    assert rc == 0, err
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == ["ts", "value", "host"]
    body = rows[1:]
    assert out == f"wrote {len(body)} rows to {path}\n"
    assert {r[2] for r in body} == {f"host-0{i}" for i in range(1, 7)}
    assert 6 * 11 <= len(body) <= 6 * 13  # 2 h in 10 min buckets, per host
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r[0]) for r in body)
    assert all(float(r[1]) >= 0 for r in body)  # a rate of a counter

    # the sum across series equals the per-series rates summed by host
    per_series = tmp_path / "per_series.csv"
    assert run(capsys, "query", "mcp_server_tool_calls_total", *common, "--csv", str(per_series))[0] == 0
    expected = pl.read_csv(per_series).group_by("ts", "host").agg(pl.col("value").sum()).sort("ts", "host")
    got = pl.read_csv(path).sort("ts", "host")
    assert got["ts"].to_list() == expected["ts"].to_list()
    assert got["host"].to_list() == expected["host"].to_list()
    assert got["value"].to_list() == pytest.approx(expected["value"].to_list(), rel=1e-9)


def test_query_with_a_minute_step_sees_samples_not_rolled_up_yet(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.kernel.samples import Sample, labels_of

    store = open_store(load_settings())
    try:
        now = store.now_ms()
        store.write([Sample("cli_test_value", labels_of(job="x"), now - k * 15_000, 1.0) for k in range(8)])
    finally:
        store.close()
    rc, out, err = run(
        capsys, "query", "cli_test_value", "--start=-10m", "--step", "1m", "--resolution", "raw"
    )
    assert rc == 0 and "shape: (" in out, err  # the samples are there
    rc, out, err = run(capsys, "query", "cli_test_value", "--start=-10m", "--step", "1m")
    assert rc == 0 and "shape: (" in out, err  # the same query at the automatic resolution


def test_query_with_no_matching_series_says_so(on_demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "query", "no_such_metric")
    assert (rc, out) == (0, "")
    assert "no data" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["host_load1{"], "bad selector"),
        (['{host="host-01"}'], "bad selector"),
        (['host_load1{host=~"("}'], "bad regular expression"),
        (["host_load1", "--start", "yesterday"], "bad time 'yesterday'"),
        (["host_load1", "--end", "soon"], "bad time 'soon'"),
        (["host_load1", "--start", "inf"], "bad time 'inf'"),
        (["host_load1", "--start=-1h", "--end=-2h"], "end must be after start"),
        (["host_load1", "--step", "5x"], "bad duration '5x'"),
        (["host_load1", "--step", "0s"], "step must be positive"),
        (["host_load1", "--over", "median"], "unknown aggregation over time 'median'"),
        (["host_load1", "--across", "p99"], "unknown aggregation across series 'p99'"),
        (["host_load1", "--over", "quantile", "--quantile", "1.5"], "quantile"),
    ],
)
def test_bad_query_input_is_one_line_and_exit_2(
    on_demo: Demo, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    assert_one_line_error(*run(capsys, "query", *argv), needle)


def test_query_csv_to_standard_output(
    on_demo: Demo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, err = run(capsys, "query", "host_load1", "--start=now-1h", "--csv", "-")
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["ts", "value"] and len(rows) > 10
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_csv_to_a_missing_folder_is_an_error_not_a_traceback(
    on_demo: Demo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "out.csv"
    assert_one_line_error(*run(capsys, "query", "host_load1", "--csv", str(target)), str(target))


def test_usage_errors_exit_2_through_argparse(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["query", "host_load1", "--resolution", "5m"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert not db.exists()


# -- bad databases and settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["db", "upgrade"], ["query", "host_load1"], ["demo", "--days", "0.1", "--quiet"]],
    ids=["db-upgrade", "query", "demo"],
)
def test_corrupt_database_file_is_reported_and_left_untouched(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    junk = random.Random(7).randbytes(64 * 1024)
    assert not junk.startswith(b"SQLite format 3")
    db.write_bytes(junk)
    before = sorted(p.name for p in db.parent.iterdir())
    assert_one_line_error(*run(capsys, *argv), "corrupt")
    assert db.read_bytes() == junk  # no partial writes
    assert sorted(p.name for p in db.parent.iterdir()) == before  # no -wal, -shm or journal left behind


@pytest.mark.parametrize("argv", [["query", "host_load1"], ["collect", "--metrics-port", "0"]])
def test_unreachable_database_is_one_line_and_exit_2(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    # nothing listens on port 1; the driver's message spans two lines
    monkeypatch.setenv("PULSE_DATABASE_URL", "postgresql+psycopg://pulse@127.0.0.1:1/pulse")
    assert_one_line_error(*run(capsys, *argv), "database unavailable", "Connection refused")


def test_corrupt_database_gets_the_dedicated_message(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db.write_bytes(random.Random(7).randbytes(4096))
    assert_one_line_error(*run(capsys, "query", "host_load1"), "is corrupt or not a SQLite database")


def test_malformed_setting_exits_2_naming_it(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_RETENTION__RAW_DAYS", "-1")
    rc, out, err = run(capsys, "query", "host_load1")
    assert (rc, out) == (2, "")
    assert err.startswith("pulse: error: invalid settings")
    assert "'retention.raw_days'" in err and "greater than 0" in err
    assert not db.exists()  # settings are checked before anything is opened


def test_bad_pulse_config_exits_2(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_CONFIG", str(db.parent / "nope.toml"))
    assert_one_line_error(*run(capsys, "db", "upgrade"), "PULSE_CONFIG", "nope.toml")


def test_collect_with_an_unknown_collector_exits_2_before_touching_the_database(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_COLLECTORS", '["host", "nope"]')
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    rc, out, err = run(capsys, "collect", "--run-for", "1", "--metrics-port", "0")
    assert_one_line_error(rc, out, err, "setting 'collectors'", "'nope'", "known:")
    assert not db.exists()
    # the daemon's handlers are not left behind in the calling process
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_collect_on_a_port_in_use_exits_2_naming_the_setting(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rc, out, err = run(capsys, "collect", "--run-for", "1", "--metrics-port", str(port))
    assert_one_line_error(rc, out, err, "setting 'metrics.port'", str(port))
    assert not db.exists()


# -- as a real program ----------------------------------------------------------------------------


def program(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m core.cli ...`` with no ``PULSE_*`` variables but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**clean, **(env or {})},
    )


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`pulse ... | head -1`: the pipe is closed before the command writes; no traceback."""
    r, w = os.pipe()
    os.close(r)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env = {**clean, "PULSE_DATABASE_URL": f"sqlite:///{tmp_path}/p.db", "PULSE_DATA_DIR": str(tmp_path)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "rules", "export"],
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=env,
        )
    finally:
        os.close(w)
    assert done.returncode == 141
    assert done.stderr == ""


def test_help_as_a_program() -> None:
    done = program("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: pulse")
    for command in ("up", "collect", "demo", "db", "query"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.M), command
    assert done.stderr == ""


def test_demo_progress_bar_goes_to_stderr_and_the_summary_to_stdout(tmp_path: Path) -> None:
    env = {"PULSE_DATABASE_URL": f"sqlite:///{tmp_path}/pulse.db", "PULSE_DATA_DIR": str(tmp_path / "data")}
    done = program("demo", "--days", "0.1", env=env)
    assert done.returncode == 0, done.stderr
    assert re.match(r"demo: [\d,]+ samples of 0\.1 days written in [\d.]+ s\n", done.stdout), done.stdout
    assert done.stdout.splitlines()[-1].startswith("alert history: ")
    assert "demo history: 100%|" in done.stderr and "alert history: 100%|" in done.stderr
    assert "%|" not in done.stdout


def test_sources_list_and_an_unknown_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from core.cli import main

    monkeypatch.setenv(
        "PULSE_SOURCES",
        json.dumps(
            [{"kind": "scrape", "name": "node", "url": "http://127.0.0.1:9/metrics", "enabled": False}]
        ),
    )
    assert main(["sources", "list"]) == 0
    out = capsys.readouterr().out
    assert "node" in out and "scrape" in out and "disabled" in out and "http://127.0.0.1:9/metrics" in out
    assert main(["sources", "test", "nope"]) == 2
    assert "no source named 'nope'; known sources: node" in capsys.readouterr().err
