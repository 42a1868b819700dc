""" "Test now" of a data source: its collector built from the form's values and run once here,
with its deadline, reporting what came back or why not (the daemon is not involved).

The values may hold secret placeholders of a source already stored: they are filled from the
settings in effect (matched by name), so testing an edit never needs the password typed again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from collectors.registry import build_source
from core.admin.settings_values import error_text, keep_secrets, masked, plain, setting_path
from core.kernel.errors import FieldErrors
from core.kernel.settings import Settings
from core.kernel.settings.sources import SourceSettings

_SOURCE: TypeAdapter[Any] = TypeAdapter(SourceSettings)
DEFAULT_DEADLINE_S = 30.0
PREVIEW = 20  # samples shown


@dataclass(frozen=True)
class SourceCheck:
    """One run of a source's collector: samples on success, else the error, and how long it took."""

    ok: bool
    duration_s: float
    samples: int = 0
    preview: list[str] = field(default_factory=list)  # ``metric{labels} value`` lines
    error: str = ""


def source_of(values: dict[str, Any], settings: Settings) -> Any:
    """The source settings of ``values`` (placeholders filled from the stored source of that name),
    or FieldErrors naming each bad field (``sources.url: ...``)."""
    name = values.get("name")
    stored = {s["name"]: s for s in plain(settings)["sources"]}
    shown = {s["name"]: s for s in masked(settings)["sources"]}
    filled = keep_secrets(values, stored.get(name), shown.get(name))
    try:
        return _SOURCE.validate_python(filled)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            where = setting_path(("sources", *err["loc"][1:]))
            fields.setdefault(where, f"{where}: {error_text(dict(err))}")
        raise FieldErrors(fields) from exc


def run_once(cfg: Any, deadline_s: float | None = None) -> SourceCheck:
    """Build ``cfg``'s collector and run ``collect()`` once, waiting at most its deadline."""
    t0 = time.monotonic()
    try:
        collector = build_source(cfg)
    except Exception as exc:
        return SourceCheck(False, time.monotonic() - t0, error=f"{type(exc).__name__}: {exc}")
    wait = deadline_s or getattr(collector, "deadline_s", None) or DEFAULT_DEADLINE_S
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["samples"] = list(collector.collect())
        except Exception as exc:  # shown to the admin as the source's error
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"pulse-source-test-{cfg.name}", daemon=True)
    worker.start()
    worker.join(wait)
    took = time.monotonic() - t0
    if worker.is_alive():
        return SourceCheck(False, took, error=f"no answer within {wait:g} s (the source's deadline)")
    if "error" in outcome:
        failed: BaseException = outcome["error"]
        return SourceCheck(False, took, error=str(failed) or type(failed).__name__)
    samples = outcome["samples"]
    preview = [
        f"{s.metric}{{{','.join(f'{k}={v!r}' for k, v in s.labels)}}} {s.value:g}" for s in samples[:PREVIEW]
    ]
    return SourceCheck(True, took, len(samples), preview)
