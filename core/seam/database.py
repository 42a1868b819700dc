"""Index advice on the configured ``postgres`` sources, for admins only: it shows the watched
databases' SQL text, which may carry names and values no team lead should read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from core.access.policy import Action
from core.kernel.errors import CollectorError, ConfigError
from core.optimization.database import database_frame
from core.optimization.index_advice import IndexAdviceSettings

if TYPE_CHECKING:
    from core.seam.console import Console

ADMIN_ONLY = Action.MANAGE_SETTINGS  # an admin-only action: no team scope applies to a database


class DatabaseAdvice:
    def __init__(self, console: Console) -> None:
        self._c = console

    @property
    def allowed(self) -> bool:
        return self._c.may(action=ADMIN_ONLY)

    def sources(self) -> list[str]:
        """Names of the enabled postgres sources."""
        self._c.require(ADMIN_ONLY)
        return [s.name for s in self._c.settings.sources if s.kind == "postgres" and s.enabled]

    def advise(self, source: str, settings: IndexAdviceSettings | None = None) -> pl.DataFrame:
        """One row per slow statement of ``source``'s database (see ``IndexAdvice.row``);
        ConfigError with the reason when the database cannot be checked."""
        from collectors.postgres_planner import PostgresPlanner

        self._c.require(ADMIN_ONLY)
        cfg = next((s for s in self._c.settings.sources if s.name == source and s.kind == "postgres"), None)
        if cfg is None:
            raise ConfigError(f"{source!r} is not a configured postgres source")
        try:
            with PostgresPlanner(cfg.dsn.get_secret_value(), timeout_s=cfg.timeout_s) as planner:
                if why := planner.missing():
                    raise ConfigError(why)
                return database_frame(planner, settings)
        except CollectorError as exc:
            raise ConfigError(str(exc)) from None
