"""On-demand profiles of a process on the Pulse host, for admins only (py-spy attaches to the
process with ptrace: any process Pulse's user may trace, whatever team it serves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.access.policy import Action
from core.optimization.profiles import Profile
from core.optimization.profiling import record_pid

if TYPE_CHECKING:
    from core.seam.console import Console

ADMIN_ONLY = Action.MANAGE_SETTINGS
MAX_PAGE_DURATION_S = 60.0  # a page run waits for the profile: keep it short


class Profiling:
    def __init__(self, console: Console) -> None:
        self._c = console

    @property
    def allowed(self) -> bool:
        return self._c.may(action=ADMIN_ONLY)

    def record(self, pid: int, duration_s: float, rate: int = 100) -> Profile:
        """Sample ``pid`` with py-spy; ProfilingError says why when it cannot be profiled."""
        self._c.require(ADMIN_ONLY)
        return record_pid(pid, min(duration_s, MAX_PAGE_DURATION_S), rate)
