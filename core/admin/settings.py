"""Settings kept in the database: what is in effect, one section as a form shows it, changes,
and the whole as one TOML file; every change audited in its own transaction.

The first-start settings (``pulse.toml``, ``PULSE_*`` variables, defaults) stay the base; an
admin's changes are stored per top-level section as overrides on top of it (``core.admin.
settings_values.overlay``) and validated as a whole before anything is saved. Sections a process
reads only when it starts (:data:`RESTART_SECTIONS`) are refused with that reason. Secrets never
leave masked: a form or an imported file that leaves one empty or as the placeholder keeps the
stored one. Daemons notice the new revision and apply it (``core.runtime.settings_reload``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from collectors.registry import known
from core.admin import audit
from core.admin.audit import Actor
from core.admin.settings_toml import dump, parse, with_lines
from core.admin.settings_values import (
    NEXT_START,
    RESTART_KEYS,
    RESTART_SECTIONS,
    SECTIONS,
    keep_secrets,
    masked,
    overlay,
    plain,
    without_none,
)
from core.kernel.errors import FieldErrors
from core.kernel.records.audit import AuditEntry
from core.kernel.settings import Settings
from core.kernel.settings.channels import ChannelSettings
from core.kernel.settings.sources import SourceSettings
from core.storage.repos.settings import Override, SettingsRepo


@dataclass(frozen=True)
class Saved:
    """The outcome of a change: its revision (unchanged when nothing changed) and the sections."""

    revision: int
    sections: tuple[str, ...]


def model_of(section: str) -> type[BaseModel] | None:
    """The pydantic model of a table section (``alerting`` -> AlertingSettings); None for lists
    and single values (``collectors``, ``sources``, ``database_url``)."""
    annotation = Settings.model_fields[section].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def variants(union: Any) -> dict[str, type[BaseModel]]:
    """The models of a tagged union (sources by ``kind``, channels by ``type``), by tag."""
    members = get_args(get_args(union)[0]) if get_origin(union) is Annotated else get_args(union)
    out: dict[str, type[BaseModel]] = {}
    for model in members:
        tag = next(f for f in ("kind", "type") if f in model.model_fields)
        out[str(get_args(model.model_fields[tag].annotation)[0])] = model
    return out


SOURCE_KINDS = variants(SourceSettings)
CHANNEL_TYPES = variants(ChannelSettings)


def restart_reason(section: str, key: str | None = None) -> str | None:
    """Why ``section`` (or its ``key``) cannot change while running, None when it can."""
    why = RESTART_SECTIONS.get(section) or (RESTART_KEYS.get((section, key)) if key else None)
    return None if why is None else f"{NEXT_START} (read by {why})"


class SettingsService:
    """The settings of one database, on top of ``base`` (this process's first-start settings)."""

    def __init__(self, base: Settings, repo: SettingsRepo, now_ms: Callable[[], int]) -> None:
        self.base, self.repo, self.now_ms = base, repo, now_ms

    # -- reads -----------------------------------------------------------------------------------
    def _overrides(self) -> dict[str, Any]:
        return {name: o.value for name, o in self.repo.overrides().items()}

    def effective(self) -> Settings:
        """The settings in effect: the base with the stored overrides on top."""
        return overlay(self.base, self._overrides())

    def revision(self) -> int:
        return self.repo.revision()

    def changes(self) -> dict[str, Override]:
        """Each overridden section's revision, who changed it and when."""
        return self.repo.overrides()

    def section(self, name: str) -> Any:
        """One section as a form shows it: secrets replaced by the placeholder, never revealed."""
        self._known(name)
        return masked(self.effective())[name]

    def export_toml(self) -> str:
        """The whole effective settings as one TOML file, secrets as placeholders."""
        when = datetime.fromtimestamp(self.now_ms() / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return dump(masked(self.effective()), when, self.revision())

    # -- changes ---------------------------------------------------------------------------------
    def update(self, section: str, values: Any, actor: Actor) -> Saved:
        """Change one section: a table's given keys (the others stay), a list or value whole. A
        secret left empty or as the placeholder keeps the stored one. FieldErrors name each bad
        setting; nothing is saved then."""
        self._known(section)
        current = self.effective()
        stored, shown = plain(current)[section], masked(current)[section]
        new = keep_secrets(values, stored, shown)
        self._refuse_restart_only(section, new, stored)
        return self._save({section: new}, current, actor, "settings.update")

    def import_toml(self, text: str, actor: Actor) -> Saved:
        """Take every section of an exported (or hand-written) file whose values differ from the
        ones in effect; sections the file leaves out stay as they are. Problems name the setting
        and its line; nothing is saved then."""
        data = parse(text)
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            errors = {k: f"{k}: is not a section of the settings" for k in unknown}
            raise with_lines(FieldErrors(errors), text)
        current = self.effective()
        stored, shown = plain(current), masked(current)
        changes: dict[str, Any] = {}
        for section, value in data.items():
            new = keep_secrets(value, stored[section], shown[section])
            if isinstance(new, dict) and isinstance(stored[section], dict):
                new = {k: v for k, v in new.items() if not same(stored[section].get(k), v)}
                if not new:
                    continue
            elif same(new, stored[section]):
                continue
            changes[section] = new
        try:
            for section, new in changes.items():
                self._refuse_restart_only(section, new, stored[section])
            return self._save(changes, current, actor, "settings.import")
        except FieldErrors as exc:
            raise with_lines(exc, text) from exc

    def reset(self, section: str, actor: Actor) -> Saved:
        """Drop the section's override: the file's, the environment's or the default values apply
        again (validated as a whole first: a route may still name a channel only the override had)."""
        self._known(section)
        overrides = self._overrides()
        if overrides.get(section) is None:
            return Saved(self.revision(), ())
        overrides[section] = None
        return self._store(overrides, (section,), self.effective(), actor, "settings.reset", always=True)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _known(section: str) -> None:
        if section not in SECTIONS:
            raise FieldErrors({section: f"{section}: is not a section of the settings"})

    @staticmethod
    def _refuse_restart_only(section: str, new: Any, stored: Any) -> None:
        if same(new, stored):
            return
        why = restart_reason(section)
        if why is not None:
            raise FieldErrors({section: f"{section}: {why}"})
        if isinstance(new, dict) and isinstance(stored, dict):
            for key, value in new.items():
                why = restart_reason(section, key)
                if why is not None and not same(value, stored.get(key)):
                    raise FieldErrors({f"{section}.{key}": f"{section}.{key}: {why}"})

    def _save(self, changes: dict[str, Any], current: Settings, actor: Actor, action: str) -> Saved:
        overrides = self._overrides()
        for section, new in changes.items():
            old = overrides.get(section)
            overrides[section] = {**old, **new} if isinstance(old, dict) and isinstance(new, dict) else new
        return self._store(overrides, tuple(changes), current, actor, action)

    def _store(
        self,
        overrides: dict[str, Any],
        sections: tuple[str, ...],
        current: Settings,
        actor: Actor,
        action: str,
        always: bool = False,
    ) -> Saved:
        """Validate the whole with ``overrides``, then save ``sections`` (those whose values
        changed, or all of them when ``always``) with their audit entries."""
        candidate = overlay(self.base, overrides)  # FieldErrors: nothing saved
        builtins = known(source=False)
        unknown = ", ".join(repr(n) for n in candidate.collectors if n not in builtins)
        if unknown:
            raise FieldErrors(
                {"collectors": f"collectors: unknown collector(s) {unknown}; known: {', '.join(builtins)}"}
            )
        old, new = plain(current), plain(candidate)  # a secret alone may change: compared revealed
        changed = sections if always else tuple(s for s in sections if old[s] != new[s])
        if not changed:
            return Saved(self.revision(), ())
        before, after = masked(current), masked(candidate)
        now = self.now_ms()
        entries = [_entry(actor, action, s, now, before[s], after[s]) for s in changed]
        revision = self.repo.save({s: overrides[s] for s in changed}, actor.name, now, entries)
        return Saved(revision, changed)


def same(a: Any, b: Any) -> bool:
    """Equal once keys without a value are left out (a TOML file cannot write them)."""
    return bool(without_none(a) == without_none(b))


def _entry(actor: Actor, action: str, section: str, now_ms: int, before: Any, after: Any) -> AuditEntry:
    b, a = section_values(section, before), section_values(section, after)
    quiet = (
        "the override removed, no value changed"
        if action == "settings.reset"
        else "a secret changed (values masked)"
    )
    note = audit.changes(b, a) or quiet
    return audit.entry(actor, action, section, now_ms, b, a, note)


def section_values(section: str, value: Any) -> dict[str, Any]:
    """A section as an audit entry holds it: a table as is, a list or a value under its name."""
    return dict(value) if isinstance(value, dict) else {section: value}
