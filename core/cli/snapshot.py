"""``pulse snapshot [--out DIR]``: write the CSV snapshots now (usage per team and per user, the
fleet's capacity forecast, open recommendations), then delete the snapshot files in that folder
older than ``snapshots.retention_days``. Without ``--out`` they go to the configured folder
(``snapshots.folder``, default ``data_dir/snapshots``), where the daemon writes its daily ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.kernel.settings import Settings


def cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from core.runtime.snapshot_files import ready_folder
    from core.runtime.snapshots import take
    from core.storage.tsdb import open_store

    folder = None
    if args.out is not None:
        folder = ready_folder(Path(args.out).expanduser(), "--out")  # before the store is opened
    store = open_store(settings)
    try:
        now = store.now_ms()
        taken = take(store, settings, now - now % 60_000, folder)
    finally:
        store.close()
    for path in taken.written:
        print(f"wrote {path}")
    if taken.deleted:
        print(
            f"deleted {len(taken.deleted)} snapshot file(s) older than {settings.snapshots.retention_days} days"
        )
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", default=None, metavar="DIR", help="folder to write to (default: setting snapshots.folder)"
    )
    p.set_defaults(func=cmd_snapshot)
