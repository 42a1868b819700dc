"""The settings as an admin sees and changes them (Admin > Settings, ``pulse settings``).

Every method, reads included, requires ``manage_settings`` (admins only) whatever the page
showed. Secrets come back masked and are never revealed; each change is audited naming the
signed-in admin (``core.admin.settings``). "Test now" of a source and "send test" of a channel
run here, in the dashboard's process, with the form's values (not saved) on top of the settings
in effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from collectors.registry import known
from core.access.policy import Action
from core.admin.channel_check import channel_of, send_test
from core.admin.settings import (
    CHANNEL_TYPES,
    SOURCE_KINDS,
    Saved,
    SettingsService,
    model_of,
    restart_reason,
)
from core.admin.settings_values import SECTIONS
from core.admin.source_check import SourceCheck, run_once, source_of
from core.kernel.records.notifications import Delivery
from core.kernel.settings import Settings
from core.storage.repos.audit import AuditRepo
from core.storage.repos.notifications import record_delivery
from core.storage.repos.settings import Override, SettingsRepo
from core.storage.tsdb import Store

if TYPE_CHECKING:
    from core.seam.console import Console


class SettingsAdmin:
    def __init__(self, console: Console, store: Store) -> None:
        self._c = console
        self._store = store

    def _service(self) -> SettingsService:
        self._c.require(Action.MANAGE_SETTINGS)
        return SettingsService(self._c.base_settings, SettingsRepo(self._store.engine), self._c.now_ms)

    # -- reads -----------------------------------------------------------------------------------
    def sections(self) -> list[str]:
        self._c.require(Action.MANAGE_SETTINGS)
        return list(SECTIONS)

    @staticmethod
    def model(section: str) -> type[BaseModel] | None:
        """The pydantic model of a table section, whose fields a form is made from."""
        return model_of(section)

    @staticmethod
    def builtin_collectors() -> list[str]:
        """The built-in collectors that ``collectors`` switches on (host, demo)."""
        return known(source=False)

    @staticmethod
    def source_kinds() -> dict[str, type[BaseModel]]:
        """The model of each source kind (prometheus, scrape, mcp, process, postgres)."""
        return dict(SOURCE_KINDS)

    @staticmethod
    def channel_types() -> dict[str, type[BaseModel]]:
        """The model of each channel type (webhook, slack, pagerduty, email, alertmanager)."""
        return dict(CHANNEL_TYPES)

    @staticmethod
    def restart_reason(section: str, key: str | None = None) -> str | None:
        return restart_reason(section, key)

    def section(self, name: str) -> Any:
        """One section, secrets masked."""
        return self._service().section(name)

    def effective(self) -> Settings:
        """The settings in effect (for reads of names and counts; secrets stay SecretStr)."""
        return self._service().effective()

    def changes(self) -> dict[str, Override]:
        return self._service().changes()

    def revision(self) -> int:
        return self._service().revision()

    def export_toml(self) -> str:
        return self._service().export_toml()

    # -- changes ---------------------------------------------------------------------------------
    def update(self, section: str, values: Any) -> Saved:
        return self._service().update(section, values, self._c.actor)

    def reset(self, section: str) -> Saved:
        """The file's (environment's, default) values of ``section`` apply again."""
        return self._service().reset(section, self._c.actor)

    def import_toml(self, text: str) -> Saved:
        return self._service().import_toml(text, self._c.actor)

    # -- tests -----------------------------------------------------------------------------------
    def test_source(self, values: dict[str, Any]) -> SourceCheck:
        """Run the collector of a source (form values, placeholders filled from the stored one) once."""
        settings = self._service().effective()
        return run_once(source_of(values, settings))

    def send_test(self, values: dict[str, Any], saved_name: str | None = None) -> Delivery:
        """One synthetic notification through the channel as the form has it (not saved; secrets
        left masked come from the saved channel ``saved_name``), recorded like any delivery and
        audited. FieldErrors name each bad field, as a save would."""
        settings = self._service().effective()
        cfg = channel_of(values, settings, saved_name)
        engine = self._store.engine
        return send_test(
            cfg,
            settings,
            record=lambda d: record_delivery(engine, d),
            write_audit=AuditRepo(engine).add,
            actor=self._c.actor,
            now_ms=self._c.now_ms(),
            saved_name=saved_name,
        )
