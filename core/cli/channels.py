"""``pulse channels list|test NAME``: the notification channels, and a test notification through one.

``test`` sends one synthetic alert ("PulseTestNotification") through the channel, records the
delivery like any other (when the database answers) and prints its outcome; secrets are masked.
Exit status 0 when the receiver accepted it, 1 when not.
"""

from __future__ import annotations

import argparse

from core.alerts.channels import build_channel, public_settings
from core.alerts.channels.dispatch import Dispatcher
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
    by_name = {c.name: c for c in settings.alerting.channels}
    cfg = by_name.get(args.name)
    if cfg is None:
        known = ", ".join(sorted(by_name)) or "none configured"
        raise ConfigError(f"no channel named {args.name!r}; known channels: {known}")
    from core.storage.repos.notifications import record_delivery
    from core.storage.tsdb import Store, open_store

    store: Store | None = None
    try:
        store = open_store(settings)
    except PulseError as exc:  # the test still goes out; it is just not recorded
        print(f"(the delivery is not recorded: {exc})")
    engine = store.engine if store is not None else None
    record = (lambda d: record_delivery(engine, d)) if engine is not None else None
    dispatcher = Dispatcher([build_channel(cfg)], retry=settings.alerting.retry, record=record)
    try:
        d = dispatcher.send_test(cfg.name, settings.alerting.external_url)
    finally:
        dispatcher.close()
        if store is not None:
            store.close()
    code = f" (HTTP {d.status_code})" if d.status_code else ""
    if d.ok:
        print(f"{cfg.name} ({cfg.type}): delivered{code} in {d.duration_ms} ms")
        return 0
    print(f"{cfg.name} ({cfg.type}): {d.outcome}{code}: {d.error}")
    return 1


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="channels_command", required=True)
    sub.add_parser("list", help="the configured notification channels").set_defaults(func=cmd_list)
    t = sub.add_parser("test", help="send a test notification through one channel")
    t.add_argument("name", help="the channel's name (see `pulse channels list`)")
    t.set_defaults(func=cmd_test)
