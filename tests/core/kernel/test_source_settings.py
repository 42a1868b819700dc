"""[[sources]] settings: each kind is picked by ``kind``; bad ones name the source and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.kernel.errors import ConfigError
from core.kernel.settings import load_settings
from core.kernel.settings.sources import (
    McpSource,
    PostgresSource,
    ProcessSource,
    PrometheusSource,
    ScrapeSource,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("PULSE_CONFIG", "PULSE_SOURCES", "PULSE_COLLECTORS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


TOML = """
[[sources]]
kind = "prometheus"
name = "prom-main"
url = "http://127.0.0.1:9090"

[[sources]]
kind = "scrape"
name = "node"
url = "http://127.0.0.1:9100/metrics"
labels = { host = "web-1" }

[[sources]]
kind = "mcp"
name = "mcp-fleet"
servers = [
  { name = "files", transport = "stdio", command = ["python", "-m", "files_server"] },
  { name = "search", transport = "http", url = "http://127.0.0.1:8000/mcp" },
]

[[sources]]
kind = "process"
name = "procs"
groups = [{ name = "mcp-python", pattern = "mcp_server" }]

[[sources]]
kind = "postgres"
name = "pg"
dsn = "postgresql://pulse:s3cret@127.0.0.1/app"
"""


def test_every_kind_from_toml(tmp_path: Path) -> None:
    (tmp_path / "pulse.toml").write_text(TOML)
    s = load_settings()
    kinds = [type(x) for x in s.sources]
    assert kinds == [PrometheusSource, ScrapeSource, McpSource, ProcessSource, PostgresSource]
    assert s.sources[1].labels == {"host": "web-1"}
    assert "s3cret" not in repr(s.sources[4])  # the dsn is a secret


def test_sources_as_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PULSE_SOURCES", json.dumps([{"kind": "scrape", "name": "a", "url": "http://x/metrics"}])
    )
    (src,) = load_settings().sources
    assert isinstance(src, ScrapeSource) and src.interval_s == 30


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"kind": "graphite", "name": "g"}, "'sources.0': Input tag 'graphite' found using 'kind'"),
        ({"kind": "scrape", "name": "Bad Name", "url": "http://x"}, "sources.0.scrape.name"),
        ({"kind": "scrape", "name": "a", "url": "ftp://x"}, "sources.0.scrape.url"),
        ({"kind": "scrape", "name": "a", "url": "http://x", "interval_s": 0}, "sources.0.scrape.interval_s"),
        ({"kind": "scrape", "name": "a", "url": "http://x", "labels": {"__x": "1"}}, "invalid label name"),
        ({"kind": "scrape", "name": "a", "url": "http://x", "colour": "red"}, "sources.0.scrape.colour"),
        ({"kind": "mcp", "name": "m", "servers": [{"name": "s", "transport": "stdio"}]}, "needs a command"),
        ({"kind": "mcp", "name": "m", "servers": []}, "sources.0.mcp.servers"),
        (
            {"kind": "process", "name": "p", "groups": [{"name": "g", "pattern": "("}]},
            "not a regular expression",
        ),
        (
            {"kind": "prometheus", "name": "p", "url": "http://x", "basic_auth_user": "u"},
            "basic_auth_user and basic_auth_password go together",
        ),
    ],
)
def test_bad_sources_name_the_problem(monkeypatch: pytest.MonkeyPatch, source: dict, expected: str) -> None:
    monkeypatch.setenv("PULSE_SOURCES", json.dumps([source]))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert expected in str(err.value)


def test_a_bad_dsn_is_named_but_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"kind": "postgres", "name": "pg", "dsn": "mysql://root:hunter2@db/x"}
    monkeypatch.setenv("PULSE_SOURCES", json.dumps([bad]))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "sources.0.postgres.dsn" in str(err.value) and "hunter2" not in str(err.value)


def test_source_names_are_unique_and_differ_from_built_in_collectors(monkeypatch: pytest.MonkeyPatch) -> None:
    two = [{"kind": "scrape", "name": n, "url": "http://x"} for n in ("a", "a", "demo")]
    monkeypatch.setenv("PULSE_SOURCES", json.dumps(two))
    with pytest.raises(ConfigError, match="repeated: a, demo"):
        load_settings()
