"""``pulse channels list|test NAME``: the notification channels, and a test notification through one.

``test`` sends one synthetic alert ("PulseTestNotification") through the channel in effect (the
file's, with an admin's changes from Admin > Settings), records the delivery like any other and
writes an audit entry as ``cli:<os user>`` (when the database answers), and prints its outcome;
secrets are masked.
Exit status 0 when the receiver accepted it, 1 when not.
"""

from __future__ import annotations

import argparse

from core.alerts.channels import public_settings
from core.kernel.errors import ConfigError, PulseError
from core.kernel.settings import Settings


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    channels = settings.alerting.channels
    if not channels:
        print("no channels configured: add [[alerting.channels]] tables to pulse.toml (see docs/alerting.md)")
        return 0
    print(f"{'name':<24} {'type':<13} {'state':<9} where")
    for c in channels:
        shown = public_settings(c)
        where = shown.get("url") or shown.get("webhook_url") or shown.get("host") or ""
        state = "enabled" if c.enabled else "disabled"
        print(f"{c.name:<24} {c.type:<13} {state:<9} {where}")
    return 0


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    from core.admin.audit import Actor
    from core.admin.channel_check import outcome_text, saved_channel, send_test
    from core.admin.settings import SettingsService
    from core.storage.repos.audit import AuditRepo
    from core.storage.repos.notifications import record_delivery
    from core.storage.repos.settings import SettingsRepo
    from core.storage.tsdb import Store, open_store

    store: Store | None = None
    try:
        store = open_store(settings)
        # the channels in effect: the file's, with an admin's changes in Admin > Settings on top
        settings = SettingsService(settings, SettingsRepo(store.engine), store.now_ms).effective()
    except PulseError as exc:  # the test still goes out; it is just not recorded nor audited
        print(f"(the delivery is not recorded: {exc})")
    try:
        cfg = saved_channel(settings, args.name)
        if cfg is None:
            known = ", ".join(sorted(c.name for c in settings.alerting.channels)) or "none configured"
            raise ConfigError(f"no channel named {args.name!r}; known channels: {known}")
        engine = store.engine if store is not None else None
        d = send_test(
            cfg,
            settings,
            record=(lambda d: record_delivery(engine, d)) if engine is not None else (lambda d: None),
            write_audit=AuditRepo(engine).add if engine is not None else (lambda e: None),
            actor=Actor.cli(),
            now_ms=store.now_ms() if store is not None else 0,
        )
    finally:
        if store is not None:
            store.close()
    print(f"{cfg.name} ({cfg.type}): {outcome_text(d)}")
    return 0 if d.ok else 1


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="channels_command", required=True)
    sub.add_parser("list", help="the configured notification channels").set_defaults(func=cmd_list)
    t = sub.add_parser("test", help="send a test notification through one channel")
    t.add_argument("name", help="the channel's name (see `pulse channels list`)")
    t.set_defaults(func=cmd_test)
