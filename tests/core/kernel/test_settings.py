"""Settings: defaults, the TOML file, ``PULSE_*`` variables, precedence and every kind of bad value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.kernel.errors import ConfigError
from core.kernel.settings import Settings, load_settings

SECRET_URL = "postgresql+psycopg://pulse:hunter2-s3cret@db.example:5432/pulse"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``PULSE_*`` variables of the caller and no ``pulse.toml`` of the caller's folder."""
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **init: object) -> str:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_settings(**init)
    return str(err.value)


# -- defaults --------------------------------------------------------------------------------


def test_defaults() -> None:
    s = load_settings()
    assert s.url == "sqlite:///data/pulse.db"
    assert isinstance(s.database_url, SecretStr)
    assert s.data_dir == Path("data")
    assert s.collectors == ["host", "demo"]
    assert (s.retention.raw_days, s.retention.minute_days, s.retention.hour_days) == (7, 35, 730)
    assert s.ingest.out_of_order_window_s == 3600 and s.ingest.future_tolerance_s == 600
    assert s.ingest.max_series_per_metric == 20_000 and s.ingest.buffer_max_samples == 200_000
    assert s.ingest.chunk_seconds == 21_600
    assert (s.demo.seed, s.demo.days, s.demo.hosts, s.demo.teams, s.demo.servers_per_host) == (42, 7, 6, 4, 6)
    assert (s.demo.backfill_step_s, s.demo.interval_s, s.host.interval_s) == (120, 15, 15)
    sch = s.scheduler
    assert (sch.rollup_interval_s, sch.compaction_interval_s, sch.retention_interval_s) == (60, 900, 3600)
    assert (sch.misfire_grace_s, sch.collector_timeout_s) == (30, 10.0)
    assert (s.metrics.host, s.metrics.port) == ("127.0.0.1", 9464)
    a = s.auth
    assert (a.cookie_name, a.session_idle_minutes, a.session_absolute_hours, a.session_renew_minutes) == (
        "pulse_auth",
        60,
        12,
        10,
    )
    assert (a.throttle_free_failures, a.throttle_max_delay_s, a.throttle_account_max_delay_s) == (3, 900, 30)
    assert not a.trust_forwarded_for


def test_default_collectors_list_is_not_shared_between_instances() -> None:
    a = load_settings()
    a.collectors.append("x")
    assert load_settings().collectors == ["host", "demo"]


# -- sources ---------------------------------------------------------------------------------

TOML = """
database_url = "sqlite:///elsewhere/pulse.db"
collectors = ["host"]

[retention]
raw_days = 3

[demo]
seed = 7
hosts = 2

[metrics]
port = 9999
"""


def check_toml_applied(s: Settings) -> None:
    assert s.url == "sqlite:///elsewhere/pulse.db"
    assert s.collectors == ["host"]
    assert s.retention.raw_days == 3 and s.retention.minute_days == 35  # unset keys keep defaults
    assert (s.demo.seed, s.demo.hosts, s.demo.teams) == (7, 2, 4)
    assert s.metrics.port == 9999


def test_toml_file_named_by_pulse_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = write(tmp_path / "conf" / "x.toml", TOML)
    monkeypatch.setenv("PULSE_CONFIG", str(path))
    check_toml_applied(load_settings())


def test_pulse_toml_in_the_working_directory(clean_env: Path) -> None:
    write(clean_env / "pulse.toml", TOML)
    check_toml_applied(load_settings())


def test_pulse_config_wins_over_pulse_toml_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path, tmp_path: Path
) -> None:
    write(clean_env / "pulse.toml", "[retention]\nraw_days = 1\n")
    monkeypatch.setenv("PULSE_CONFIG", str(write(tmp_path / "other.toml", "[retention]\nraw_days = 2\n")))
    assert load_settings().retention.raw_days == 2


def test_pulse_toml_elsewhere_is_not_read(tmp_path: Path) -> None:
    write(tmp_path / "pulse.toml", "[retention]\nraw_days = 1\n")  # the parent of the working directory
    assert load_settings().retention.raw_days == 7


def test_environment_overrides_with_nested_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("PULSE_DATA_DIR", "/var/lib/pulse")
    monkeypatch.setenv("PULSE_COLLECTORS", '["demo"]')
    monkeypatch.setenv("PULSE_RETENTION__RAW_DAYS", "2.5")
    monkeypatch.setenv("PULSE_INGEST__MAX_SERIES_PER_METRIC", "50")
    monkeypatch.setenv("PULSE_SCHEDULER__COLLECTOR_TIMEOUT_S", "2.5")
    monkeypatch.setenv("PULSE_METRICS__PORT", "0")
    monkeypatch.setenv("pulse_demo__seed", "9")  # names are case-insensitive
    s = load_settings()
    assert s.url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert s.data_dir == Path("/var/lib/pulse")
    assert s.collectors == ["demo"]
    assert s.retention.raw_days == 2.5 and s.retention.hour_days == 730
    assert s.ingest.max_series_per_metric == 50
    assert s.scheduler.collector_timeout_s == 2.5
    assert s.metrics.port == 0
    assert s.demo.seed == 9


def test_a_whole_table_as_json_in_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_RETENTION", '{"raw_days": 1, "minute_days": 2}')
    s = load_settings()
    assert (s.retention.raw_days, s.retention.minute_days, s.retention.hour_days) == (1, 2, 730)


def test_precedence_init_over_env_over_file_over_defaults(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    write(
        clean_env / "pulse.toml",
        'collectors = ["demo"]\n[retention]\nraw_days = 1\nminute_days = 2\nhour_days = 3\n',
    )
    monkeypatch.setenv("PULSE_RETENTION__RAW_DAYS", "10")
    monkeypatch.setenv("PULSE_RETENTION__MINUTE_DAYS", "20")
    s = load_settings(retention={"raw_days": 100})
    # nested tables merge key by key across sources
    assert (s.retention.raw_days, s.retention.minute_days, s.retention.hour_days) == (100, 20, 3)
    assert s.collectors == ["demo"]  # from the file only
    assert s.ingest.chunk_seconds == 21_600  # from nowhere: the default
    monkeypatch.setenv("PULSE_COLLECTORS", '["host"]')
    assert load_settings().collectors == ["host"]
    assert load_settings(collectors=[]).collectors == []


def test_postgres_url_spellings_are_accepted() -> None:
    for url in ("postgresql+psycopg://u@h/db", "postgresql://u@h/db", "postgres://u@h/db", "sqlite://"):
        assert load_settings(database_url=url).url == url


# -- bad values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"PULSE_RETENTION__RAW_DAYS": "-1"}, "retention.raw_days"),
        ({"PULSE_RETENTION__HOUR_DAYS": "0"}, "retention.hour_days"),
        ({"PULSE_INGEST__MAX_SERIES_PER_METRIC": "0"}, "ingest.max_series_per_metric"),
        ({"PULSE_INGEST__BUFFER_MAX_SAMPLES": "999"}, "ingest.buffer_max_samples"),
        ({"PULSE_INGEST__OUT_OF_ORDER_WINDOW_S": "-5"}, "ingest.out_of_order_window_s"),
        ({"PULSE_DEMO__DAYS": "91"}, "demo.days"),
        ({"PULSE_DEMO__BACKFILL_STEP_S": "1"}, "demo.backfill_step_s"),
        ({"PULSE_SCHEDULER__COLLECTOR_TIMEOUT_S": "0"}, "scheduler.collector_timeout_s"),
        ({"PULSE_METRICS__PORT": "65536"}, "metrics.port"),
        ({"PULSE_METRICS__PORT": "-1"}, "metrics.port"),
        ({"PULSE_AUTH__COOKIE_NAME": "my cookie"}, "auth.cookie_name"),
        ({"PULSE_AUTH__THROTTLE_FREE_FAILURES": "0"}, "auth.throttle_free_failures"),
        ({"PULSE_AUTH__SESSION_ABSOLUTE_HOURS": "13"}, "auth.session_absolute_hours"),
        # wrong types
        ({"PULSE_DEMO__HOSTS": "many"}, "demo.hosts"),
        ({"PULSE_HOST__INTERVAL_S": "1.5"}, "host.interval_s"),
        ({"PULSE_RETENTION__RAW_DAYS": "a week"}, "retention.raw_days"),
        ({"PULSE_COLLECTORS": '"host"'}, "collectors"),
        ({"PULSE_COLLECTORS": "[1, 2]"}, "collectors.0"),
        # a list that is not JSON
        ({"PULSE_COLLECTORS": "host,demo"}, "collectors"),
        # unknown keys inside a known table (a typo must not be silently ignored)
        ({"PULSE_RETENTION__RAW_DAYZ": "3"}, "retention.raw_dayz"),
        ({"PULSE_DATABASE_URL": "mysql://u@h/db"}, "database_url"),
        ({"PULSE_DATABASE_URL": "pulse.db"}, "database_url"),
    ],
)
def test_bad_environment_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str
) -> None:
    msg = config_error(monkeypatch, env)
    assert f"'{setting}'" in msg or f'"{setting}"' in msg, msg


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ("[retention]\nraw_days = -1\n", "retention.raw_days"),
        ('[retention]\nraw_days = "x"\n', "retention.raw_days"),
        ('collectors = "host"\n', "collectors"),
        ("data_dir = 5\n", "data_dir"),
        ('colectors = ["host"]\n', "colectors"),  # unknown top-level key
        ("[retention]\nraw_dayz = 3\n", "retention.raw_dayz"),  # unknown nested key
        ("[retension]\nraw_days = 3\n", "retension"),  # unknown table
        ("[metrics]\nport = 1e9\n", "metrics.port"),
        ('database_url = "http://example.com/db"\n', "database_url"),
    ],
)
def test_bad_toml_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path, toml: str, setting: str
) -> None:
    write(clean_env / "pulse.toml", toml)
    msg = config_error(monkeypatch, {})
    assert f"setting '{setting}'" in msg, msg


@pytest.mark.parametrize(
    ("init", "setting"),
    [
        ({"retention": {"raw_days": -1}}, "retention.raw_days"),
        ({"retention": {"bogus": 1}}, "retention.bogus"),
        ({"metrics": {"host": "0.0.0.0", "prt": 1}}, "metrics.prt"),
        ({"bogus": 1}, "bogus"),
        ({"collectors": "host"}, "collectors"),
    ],
)
def test_bad_keyword_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, init: dict[str, object], setting: str
) -> None:
    msg = config_error(monkeypatch, {}, **init)
    assert f"setting '{setting}'" in msg, msg


def test_every_bad_setting_is_reported_on_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    msg = config_error(
        monkeypatch, {"PULSE_RETENTION__RAW_DAYS": "-1", "PULSE_METRICS__PORT": "x", "PULSE_DEMO__HOSTS": "0"}
    )
    lines = msg.splitlines()
    assert lines[0] == "invalid settings:"
    assert sorted(line.split("'")[1] for line in lines[1:]) == [
        "demo.hosts",
        "metrics.port",
        "retention.raw_days",
    ]
    assert "(got '-1')" in msg  # the bad value is shown


def test_malformed_toml_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", "[retention\nraw_days = 3\n")
    msg = config_error(monkeypatch, {"PULSE_CONFIG": str(path)})
    assert str(path) in msg and "cannot read settings file" in msg and "line 1" in msg


def test_malformed_pulse_toml_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    write(clean_env / "pulse.toml", "raw_days = = 3\n")
    assert "pulse.toml" in config_error(monkeypatch, {})


def test_toml_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    (clean_env / "pulse.toml").write_bytes(b"collectors = ['\xff\xfe']\n")
    assert "pulse.toml" in config_error(monkeypatch, {})


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_pulse_config_that_is_not_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nope.toml" if kind == "missing" else tmp_path
    msg = config_error(monkeypatch, {"PULSE_CONFIG": str(path)})
    assert "PULSE_CONFIG" in msg and str(path) in msg


def test_bad_database_url_names_the_setting_but_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "mysql://pulse:hunter2-s3cret@db.example/pulse"
    for msg in (
        config_error(monkeypatch, {"PULSE_DATABASE_URL": url}),
        config_error(monkeypatch, {}, database_url=url),
    ):
        assert "setting 'database_url'" in msg and "sqlite:///" in msg and "postgresql+psycopg://" in msg
        assert "hunter2" not in msg


# -- secrets ---------------------------------------------------------------------------------


def test_database_url_is_a_secret_in_repr_str_and_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", SECRET_URL)
    s = load_settings()
    assert s.url == SECRET_URL  # available on purpose, through .url
    for shown in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump()), f"{s}", repr(s.database_url)):
        assert "hunter2" not in shown, shown
