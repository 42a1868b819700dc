"""current_settings: one build while nothing changes; a new one when the file or a variable does."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.kernel.errors import ConfigError
from core.kernel.settings.current import current_settings

pytestmark = pytest.mark.usefixtures("pulse_free_env")


def test_kept_while_nothing_changes() -> None:
    assert current_settings() is current_settings()


def test_an_edit_of_the_settings_file_is_seen(tmp_path: Path) -> None:
    file = tmp_path / "pulse.toml"
    file.write_text("[retention]\nraw_days = 3\n")
    assert current_settings().retention.raw_days == 3
    file.write_text("[retention]\nraw_days = 5\n")  # same size, maybe the same mtime tick
    assert current_settings().retention.raw_days == 5
    file.unlink()
    assert current_settings().retention.raw_days == 7  # the default again


def test_a_changed_variable_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_RETENTION__RAW_DAYS", "2")
    assert current_settings().retention.raw_days == 2
    monkeypatch.setenv("PULSE_RETENTION__RAW_DAYS", "4")
    assert current_settings().retention.raw_days == 4


def test_a_bad_file_raises_every_time_and_its_fix_is_seen(tmp_path: Path) -> None:
    file = tmp_path / "pulse.toml"
    file.write_text("[retention]\nraw_days = -1\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="retention.raw_days"):
            current_settings()
    file.write_text("[retention]\nraw_days = 1\n")
    assert current_settings().retention.raw_days == 1
