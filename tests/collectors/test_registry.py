"""The one collector registry: which collectors the settings build, and what it refuses."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import collectors.registry as registry
from collectors.base import Collector, Health
from collectors.demo import DemoCollector
from collectors.host import HostCollector
from collectors.registry import build_collectors, build_source, register
from core.kernel.errors import ConfigError
from core.kernel.samples import Sample
from core.kernel.settings import Settings, load_settings
from core.kernel.settings.sources import ScrapeSource


def settings(tmp_path: Path, **kw: object) -> Settings:
    return load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, **kw)


class Dummy:
    name, interval = "dummy", 1.0

    def __init__(self, _settings: Settings) -> None:
        self.health = Health()

    def collect(self) -> list[Sample]:
        return []


@pytest.fixture
def entries(monkeypatch: pytest.MonkeyPatch) -> dict[str, registry.Entry]:
    """A copy of the filled registry that the test may change; the real one is untouched."""
    copy = dict(registry.REGISTRY)
    monkeypatch.setattr(registry, "REGISTRY", copy)
    return copy


def test_default_settings_build_host_and_demo(tmp_path: Path) -> None:
    built = build_collectors(settings(tmp_path))
    assert [c.name for c in built] == ["host", "demo"]
    assert isinstance(built[0], HostCollector) and isinstance(built[1], DemoCollector)
    for c in built:
        assert isinstance(c, Collector)  # the runtime-checkable protocol
        assert c.health.ok and c.health.last_success_ms is None  # nothing collected yet
        assert c.interval == 15


def test_intervals_come_from_the_settings(tmp_path: Path) -> None:
    s = settings(tmp_path, host={"interval_s": 5}, demo={"interval_s": 30})
    assert {c.name: c.interval for c in build_collectors(s)} == {"host": 5, "demo": 30}


def test_each_build_makes_new_instances(tmp_path: Path) -> None:
    s = settings(tmp_path, collectors=["host"])
    assert build_collectors(s)[0] is not build_collectors(s)[0]


def test_unknown_names_are_a_config_error_naming_them_and_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        build_collectors(settings(tmp_path, collectors=["host", "promethues", "demo", "mcp"]))
    msg = str(err.value)
    assert msg.startswith("setting 'collectors'")
    assert "'promethues'" in msg and "'mcp'" in msg
    assert msg.endswith("known: " + ", ".join(registry.known(source=False)))
    unknown_part, known_part = msg.split("; known: ")
    assert set(known_part.split(", ")) == {"demo", "host"}  # source kinds are not picked here
    assert "host" not in unknown_part and "demo" not in unknown_part  # only unknown ones listed as such


def test_duplicates_collapse_keeping_the_first_order(tmp_path: Path) -> None:
    built = build_collectors(settings(tmp_path, collectors=["demo", "host", "demo", "host"]))
    assert [c.name for c in built] == ["demo", "host"]


def test_no_collectors_is_allowed(tmp_path: Path) -> None:
    assert build_collectors(settings(tmp_path, collectors=[])) == []


def test_register_refuses_a_duplicate_name(entries: dict[str, registry.Entry]) -> None:
    original = entries["host"]
    with pytest.raises(ValueError, match="'host' is already registered"):
        register("host", Dummy)
    assert entries["host"] is original  # not replaced
    with pytest.raises(ValueError, match="'mcp' is already registered"):  # built-ins and kinds: one namespace
        register("mcp", Dummy)
    with pytest.raises(ValueError, match="'host' is already registered"):
        register("host", "tests.collectors.test_registry:Dummy", source=True)

    register("dummy", Dummy)
    with pytest.raises(ValueError, match="'dummy' is already registered"):
        register("dummy", Dummy)
    with pytest.raises(ValueError, match="'module:attr'"):
        register("lazy", "tests.collectors.test_registry")


def test_a_registered_collector_can_be_picked_by_the_settings(
    entries: dict[str, registry.Entry], tmp_path: Path
) -> None:
    register("dummy", Dummy)
    built = build_collectors(settings(tmp_path, collectors=["dummy", "host"]))
    assert [type(c) for c in built] == [Dummy, HostCollector]


def test_the_real_registry_holds_the_built_ins_and_the_source_kinds_by_their_own_names() -> None:
    assert registry.known(source=False) == ["demo", "host"]
    assert registry.known(source=True) == ["mcp", "postgres", "process", "prometheus", "scrape"]
    s = load_settings(database_url="sqlite://")
    for name in registry.known(source=False):
        assert registry.REGISTRY[name].factory()(s).name == name


def test_configured_sources_are_built_through_the_same_registry(tmp_path: Path) -> None:
    src = [
        {"kind": "scrape", "name": "web", "url": "http://127.0.0.1:1/metrics"},
        {"kind": "scrape", "name": "off", "url": "http://127.0.0.1:1/metrics", "enabled": False},
    ]
    built = build_collectors(settings(tmp_path, collectors=["host"], sources=src))
    assert [c.name for c in built] == ["host", "web"]  # a disabled source is not built
    assert isinstance(built[1], Collector) and built[1].interval == 30 and built[1].health.ok


def test_a_kind_that_is_not_registered_is_a_config_error_naming_the_known_ones(
    entries: dict[str, registry.Entry],
) -> None:
    cfg = ScrapeSource(kind="scrape", name="web", url="http://127.0.0.1:1/metrics")
    del entries["scrape"]
    with pytest.raises(ConfigError) as err:
        build_source(cfg)
    assert str(err.value) == (
        "setting 'sources': source 'web' has unknown kind 'scrape'; known: mcp, postgres, process, prometheus"
    )
    with pytest.raises(ConfigError, match="unknown kind 'host'"):  # a built-in is not a source kind
        build_source(cfg.model_copy(update={"kind": "host"}))


def test_a_lazy_factory_is_imported_when_first_built(
    entries: dict[str, registry.Entry], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "tests.collectors.lazy_kind"
    monkeypatch.delitem(sys.modules, module, raising=False)
    register("lazy", f"{module}:LazyCollector", source=True)
    assert module not in sys.modules  # registered, not imported
    cfg = ScrapeSource(kind="scrape", name="web", url="http://127.0.0.1:1/metrics")
    c = build_source(cfg.model_copy(update={"kind": "lazy"}))
    assert module in sys.modules and type(c).__module__ == module and c.name == "web"


def test_an_installation_without_sources_never_loads_the_source_modules_or_their_sdks() -> None:
    """In a fresh interpreter: the default collectors build without importing any source kind."""
    code = textwrap.dedent(
        """
        import sys
        from collectors.registry import build_collectors
        from core.kernel.settings import load_settings

        built = build_collectors(load_settings(database_url="sqlite://", collectors=["host"]))
        assert [c.name for c in built] == ["host"]
        kinds = ["collectors.mcp_probe", "collectors.prometheus", "collectors.scrape",
                 "collectors.postgres", "collectors.process", "collectors.demo"]
        sdks = ["mcp", "prometheus_api_client", "psycopg", "httpx", "numpy"]
        loaded = [m for m in kinds + sdks if m in sys.modules]
        assert not loaded, loaded
        from core.kernel.settings.sources import McpSource
        from collectors.registry import build_source
        cfg = McpSource(kind="mcp", name="m", servers=[{"name": "s", "transport": "http", "url": "http://127.0.0.1:1/mcp"}])
        assert build_source(cfg).name == "m"
        assert "collectors.mcp_probe" in sys.modules and "mcp" in sys.modules
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
