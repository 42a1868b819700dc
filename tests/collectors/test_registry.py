"""The explicit collector registry: which collectors the settings build, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

import collectors.base as base
from collectors.base import Collector, Health, build_collectors, register
from collectors.demo import DemoCollector
from collectors.host import HostCollector
from core.kernel.errors import ConfigError
from core.kernel.samples import Sample
from core.kernel.settings import Settings, load_settings


def settings(tmp_path: Path, **kw: object) -> Settings:
    return load_settings(database_url=f"sqlite:///{tmp_path}/pulse.db", data_dir=tmp_path, **kw)


class Dummy:
    name, interval = "dummy", 1.0

    def __init__(self, _settings: Settings) -> None:
        self.health = Health()

    def collect(self) -> list[Sample]:
        return []


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, base.Factory]:
    """A copy of the filled registry that the test may change; the real one is untouched."""
    import collectors.registry  # noqa: F401  (fills REGISTRY)

    copy = dict(base.REGISTRY)
    monkeypatch.setattr(base, "REGISTRY", copy)
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
    assert msg.endswith("known: " + ", ".join(sorted(base.REGISTRY)))
    unknown_part, known_part = msg.split("; known: ")
    assert {"demo", "host"} <= set(known_part.split(", "))
    assert "host" not in unknown_part and "demo" not in unknown_part  # only unknown ones listed as such


def test_duplicates_collapse_keeping_the_first_order(tmp_path: Path) -> None:
    built = build_collectors(settings(tmp_path, collectors=["demo", "host", "demo", "host"]))
    assert [c.name for c in built] == ["demo", "host"]


def test_no_collectors_is_allowed(tmp_path: Path) -> None:
    assert build_collectors(settings(tmp_path, collectors=[])) == []


def test_register_refuses_a_duplicate_name(registry: dict[str, base.Factory]) -> None:
    original = registry["host"]
    with pytest.raises(ValueError, match="'host' is already registered"):
        register("host", Dummy)
    assert registry["host"] is original  # not replaced

    register("dummy", Dummy)
    with pytest.raises(ValueError, match="'dummy' is already registered"):
        register("dummy", Dummy)


def test_a_registered_collector_can_be_picked_by_the_settings(
    registry: dict[str, base.Factory], tmp_path: Path
) -> None:
    register("dummy", Dummy)
    built = build_collectors(settings(tmp_path, collectors=["dummy", "host"]))
    assert [type(c) for c in built] == [Dummy, HostCollector]


def test_the_real_registry_holds_the_built_in_collectors_by_their_own_names() -> None:
    import collectors.registry  # noqa: F401

    assert {"demo", "host"} <= set(base.REGISTRY)
    s = load_settings(database_url="sqlite://")
    for name, factory in base.REGISTRY.items():
        assert factory(s).name == name
