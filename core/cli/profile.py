"""``pulse profile``: a sampling profile of a running Python process (``--pid``, py-spy) or of a
Pulse command in process (``--self -- recommend --kind idle``, pyinstrument): the hottest functions
as a table, and with ``--out`` the profile as speedscope JSON (``.json``), a flame graph (``.html``,
a plotly icicle) or folded stacks (``.txt``/``.folded``, for flamegraph.pl or inferno).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.kernel.errors import ConfigError
from core.kernel.settings import Settings
from core.kernel.times import parse_duration_ms

SUFFIXES = (".json", ".html", ".txt", ".folded")


def cmd_profile(args: argparse.Namespace, settings: Settings) -> int:
    import polars as pl

    from core.optimization.profiles import top_functions
    from core.optimization.profiling import ProfilingError, profile_call, record_pid

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in SUFFIXES:
        raise ConfigError(f"--out {args.out}: the file name must end in {', '.join(SUFFIXES)}")
    if args.self == (args.pid is not None):
        raise ConfigError("give either --pid N (another process) or --self -- COMMAND (a pulse command)")
    try:
        if args.pid is not None:
            duration_s = parse_duration_ms(args.duration) / 1000
            profile = record_pid(args.pid, duration_s, args.rate)
            status = 0
        else:
            command = [a for a in args.command if a != "--"]
            if not command or command[0] == "profile":
                raise ConfigError(
                    "--self needs the pulse command to profile after --, e.g. -- recommend --kind idle"
                )
            from core.cli.main import main

            status, profile = profile_call(main, command)
    except ProfilingError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:
        raise ConfigError(f"--duration {args.duration!r}: {exc}") from None
    print(f"{profile.source}: {profile.total:g} {profile.unit} over {profile.duration_s:.1f}s")
    for note in profile.notes:
        print(f"note: {note}")
    with pl.Config(tbl_rows=args.top, tbl_width_chars=160, fmt_str_lengths=100, float_precision=1):
        print(top_functions(profile, args.top))
    if out is not None:
        _write(profile, out)
        print(f"wrote {out}")
    return status


def _write(profile: object, out: Path) -> None:
    from core.optimization.flame import flame_figure
    from core.optimization.profiles import Profile, folded, to_speedscope

    assert isinstance(profile, Profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps(to_speedscope(profile)))
    elif out.suffix == ".html":
        flame_figure(profile).write_html(out, include_plotlyjs=True)
    else:
        out.write_text(folded(profile))


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pid", type=int, default=None, help="profile this running Python process with py-spy")
    p.add_argument("--self", action="store_true", help="profile the pulse command given after -- in process")
    p.add_argument("--duration", default="10s", help="--pid: how long to sample, e.g. 10s, 1m (at most 10m)")
    p.add_argument("--rate", type=int, default=100, help="--pid: samples a second (1-1000)")
    p.add_argument(
        "--out", default=None, help="write the profile: .json (speedscope), .html (flame graph), .txt"
    )
    p.add_argument("--top", type=int, default=20, help="functions shown")
    p.add_argument("command", nargs=argparse.REMAINDER, help="--self: the pulse command and its arguments")
    p.set_defaults(func=cmd_profile)
