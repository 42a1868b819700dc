"""Recording profiles: a running Python process by PID with py-spy (sampling from outside, the
target is not changed), and Pulse's own code in process with pyinstrument.

Both return a :class:`~core.optimization.profiles.Profile`. When a process cannot be profiled the
error says why in words an operator can act on: no such process, not a Python process, no ptrace
permission (py-spy needs root or CAP_SYS_PTRACE, and ``kernel.yama.ptrace_scope`` may forbid it),
py-spy missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from core.kernel.errors import PulseError
from core.optimization.profiles import Profile, frame_label, from_speedscope

T = TypeVar("T")
Runner = Callable[..., subprocess.CompletedProcess[str]]
MAX_DURATION_S = 600.0
MAX_RATE = 1000


class ProfilingError(PulseError):
    """The profile could not be recorded; the message says why and what to do."""


_PYSPY_HINTS = (
    (
        ("permission denied", "operation not permitted", "ptrace"),
        "no permission to trace it: run Pulse as root or grant CAP_SYS_PTRACE (in a container: "
        "--cap-add SYS_PTRACE), and check kernel.yama.ptrace_scope",
    ),
    (
        ("failed to find python version", "failed to find a python interpreter", "no python processes found"),
        "it is not a Python process (py-spy profiles CPython only)",
    ),
    (
        (
            "no such process",
            "failed to open process",
            "process not found",
            "check that the process is running",
        ),
        "the process is gone",
    ),
)


def pyspy_binary() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise ProfilingError("py-spy is not installed: pip install 'py-spy>=0.4,<0.5'")
    return found


def record_pid(
    pid: int, duration_s: float = 10.0, rate: int = 100, *, run: Runner = subprocess.run
) -> Profile:
    """Sample process ``pid`` for ``duration_s`` at ``rate`` Hz with py-spy (non-blocking: the
    target is never paused), its subprocesses included."""
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ProfilingError(f"duration {duration_s:g}s: must be above 0 and at most {MAX_DURATION_S:g}s")
    if not 1 <= rate <= MAX_RATE:
        raise ProfilingError(f"rate {rate}: must be between 1 and {MAX_RATE} samples a second")
    if not _exists(pid):
        raise ProfilingError(f"cannot profile pid {pid}: no such process")
    with tempfile.TemporaryDirectory(prefix="pulse-profile-") as tmp:
        out = Path(tmp) / "profile.json"
        cmd = [
            pyspy_binary(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(duration_s))),
            "--rate",
            str(rate),
            "--format",
            "speedscope",
            "--output",
            str(out),
            "--nonblocking",
            "--subprocesses",
        ]
        started = time.monotonic()
        done = run(cmd, capture_output=True, text=True, timeout=duration_s + 60)
        took = time.monotonic() - started
        if done.returncode != 0 or not out.exists():
            raise ProfilingError(_explain(pid, done.stderr or done.stdout))
        doc = json.loads(out.read_text())
    profile = from_speedscope(doc, f"py-spy pid {pid}", took)
    if not profile.stacks:
        return Profile(
            {}, "samples", profile.source, took, ("no sample: the process was idle the whole time",)
        )
    return profile


def profile_call(
    fn: Callable[..., T], *args: Any, interval_s: float = 0.001, **kwargs: Any
) -> tuple[T, Profile]:
    """``fn(*args, **kwargs)`` under pyinstrument: its result and its profile (weights in seconds)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval_s)
    started = time.monotonic()
    profiler.start()
    try:
        result = fn(*args, **kwargs)
    finally:
        profiler.stop()
    took = time.monotonic() - started
    stacks: dict[tuple[str, ...], float] = {}
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is not None:
        _walk(root, (), stacks)
    name = getattr(fn, "__qualname__", repr(fn))
    return result, Profile(stacks, "seconds", f"pyinstrument {name}", took)


def _walk(frame: Any, parent: tuple[str, ...], into: dict[tuple[str, ...], float]) -> None:
    """Self time of each frame to its stack (pyinstrument's synthetic ``[self]`` leaves included)."""
    stack = (*parent, frame_label(frame.function, frame.file_path_short or "?", frame.line_no))
    own = frame.time - sum(c.time for c in frame.children)
    for child in frame.children:
        if child.is_synthetic:
            own += child.time
        else:
            _walk(child, stack, into)
    if own > 0:
        into[stack] = into.get(stack, 0.0) + own


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # there, but not ours: py-spy will say whether it may trace it
    return pid > 0


def _explain(pid: int, stderr: str) -> str:
    text = " ".join(stderr.split("Stack backtrace")[0].split())[:400] or "no output"
    low = text.lower()
    for keys, hint in _PYSPY_HINTS:
        if any(k in low for k in keys):
            return f"cannot profile pid {pid}: {hint} (py-spy: {text})"
    return f"cannot profile pid {pid}: py-spy failed ({text})"
