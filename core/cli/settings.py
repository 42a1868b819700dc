"""``pulse settings export [FILE]`` and ``pulse settings import FILE``: the settings kept in the
database as one TOML file (``core.admin.settings``).

Export writes the settings in effect (the file and ``PULSE_*`` variables with the database's
overrides on top) to FILE or standard output, secrets as placeholders. Import takes the file's
values that differ from those in effect, audited as ``cli:<os user>``; a bad file prints each
problem with its setting and line, exits 1 and saves nothing. The running daemons pick a change
up within ``scheduler.settings_poll_s``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.kernel.errors import FieldErrors, PulseError
from core.kernel.settings import Settings

if TYPE_CHECKING:
    from core.admin.settings import SettingsService
    from core.storage.tsdb import Store


def _service(settings: Settings) -> tuple[Store, SettingsService]:
    from core.admin.settings import SettingsService
    from core.storage.repos.settings import SettingsRepo
    from core.storage.tsdb import open_store

    store = open_store(settings)
    return store, SettingsService(settings, SettingsRepo(store.engine), store.now_ms)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store, service = _service(settings)
    try:
        text = service.export_toml()
    finally:
        store.close()
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        Path(args.file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PulseError(f"cannot write the settings file {args.file!r}: {exc.strerror or exc}") from exc
    print(f"settings written to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from core.admin.audit import Actor

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PulseError(f"cannot read the settings file {args.file!r}: {exc}") from exc
    store, service = _service(settings)
    try:
        saved = service.import_toml(text, Actor.cli())
    except FieldErrors as exc:
        print(f"pulse: {args.file}: not imported, nothing was saved:", file=sys.stderr)
        for message in exc.fields.values():
            print(f"  {message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if not saved.sections:
        print(f"{args.file}: nothing to change (every value is already in effect)")
        return 0
    print(f"{args.file}: imported {', '.join(saved.sections)} as revision {saved.revision}")
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="settings_command", required=True)
    ex = sub.add_parser(
        "export", help="write the settings in effect as one TOML file (secrets as placeholders)"
    )
    ex.add_argument("file", nargs="?", default=None, help="where to write (default: standard output)")
    ex.set_defaults(func=cmd_export)
    im = sub.add_parser("import", help="take a settings TOML file into the database (audited)")
    im.add_argument("file", help="the TOML file, e.g. one written by `pulse settings export`")
    im.set_defaults(func=cmd_import)
