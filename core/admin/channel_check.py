""" "Send test" of a notification channel as the admin's form has it, saved or not.

The form's values are validated with the model a save uses (the channel's ``type`` picks it);
the secrets the form shows masked and the admin left alone are put back from the saved channel
of that name (the one being edited, even when the form renames it), so an edit is tested without
typing a password again and without saving anything. One attempt goes out through a dispatcher
of that channel alone; the attempt is recorded like any delivery and audited (who, which
channel, whether the form had unsaved edits, the outcome; secrets masked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.admin import audit
from core.admin.audit import Actor
from core.admin.masking import mask_text
from core.admin.settings_values import error_text, keep_secrets, masked, plain, setting_path
from core.alerts.channels import build_channel
from core.alerts.channels.dispatch import Dispatcher
from core.kernel.errors import FieldErrors
from core.kernel.records.audit import AuditEntry
from core.kernel.records.notifications import Delivery
from core.kernel.settings import Settings
from core.kernel.settings.channels import ChannelBase, ChannelSettings

_CHANNEL: TypeAdapter[Any] = TypeAdapter(ChannelSettings)
ACTION = "channel.test"


def channel_of(values: dict[str, Any], settings: Settings, saved_name: str | None = None) -> ChannelBase:
    """The channel of the form's ``values`` (keys left empty take their defaults), each masked
    secret filled from the saved channel ``saved_name`` (default: the name in ``values``); or
    FieldErrors naming each bad field (``alerting.channels.url: ...``)."""
    entered = {k: v for k, v in values.items() if v is not None}
    name = saved_name if saved_name is not None else entered.get("name")
    stored = {c["name"]: c for c in plain(settings)["alerting"]["channels"]}
    shown = {c["name"]: c for c in masked(settings)["alerting"]["channels"]}
    filled = keep_secrets(entered, stored.get(name), shown.get(name))
    try:
        channel: ChannelBase = _CHANNEL.validate_python(filled)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            where = setting_path(("alerting", "channels", *err["loc"][1:]))
            fields.setdefault(where, f"{where}: {error_text(dict(err))}")
        raise FieldErrors(fields) from exc
    return channel


def saved_channel(settings: Settings, name: str | None) -> ChannelBase | None:
    return next((c for c in settings.alerting.channels if c.name == name), None)


def send_test(
    cfg: ChannelBase,
    settings: Settings,
    record: Callable[[Delivery], None],
    write_audit: Callable[[AuditEntry], None],
    actor: Actor,
    now_ms: int,
    saved_name: str | None = None,
) -> Delivery:
    """One synthetic notification through ``cfg`` (retries and rate limit as in ``settings``),
    recorded by ``record`` and audited by ``write_audit``."""
    saved = saved_channel(settings, saved_name if saved_name is not None else cfg.name)
    dispatcher = Dispatcher([build_channel(cfg)], retry=settings.alerting.retry, record=record)
    try:
        delivery = dispatcher.send_test(cfg.name, settings.alerting.external_url)
    finally:
        dispatcher.close()
    write_audit(test_entry(actor, cfg, delivery, now_ms, edited=saved != cfg))
    return delivery


def outcome_text(d: Delivery) -> str:
    """``delivered (HTTP 200) in 12 ms`` or ``failed (HTTP 500): <error>``, secrets masked."""
    code = f" (HTTP {d.status_code})" if d.status_code else ""
    if d.ok:
        return f"{d.outcome}{code} in {d.duration_ms} ms"
    return mask_text(f"{d.outcome}{code}: {d.error}")


def test_entry(actor: Actor, cfg: ChannelBase, d: Delivery, now_ms: int, edited: bool) -> AuditEntry:
    """The audit entry of a test send: the channel as sent (secrets masked) and the outcome."""
    how = "with unsaved edits" if edited else "as saved"
    after = {
        "channel": cfg.model_dump(by_alias=True),  # SecretStr and URL passwords masked by the entry
        "unsaved_edits": edited,
        "ok": d.ok,
        "outcome": d.outcome,
        "status_code": d.status_code,
        "error": mask_text(d.error),
    }
    return audit.entry(actor, ACTION, cfg.name, now_ms, None, after, f"test send {how}: {outcome_text(d)}")
