"""Inbound alerts: Alertmanager webhook (version 4) payloads turned into Pulse alert states.

A team's Prometheus alerts reach Pulse through its Alertmanager: a ``webhook_configs`` receiver
pointing at the daemon's inbound endpoint (core.runtime.inbound_http) with a bearer token. Each payload is
validated whole (:func:`parse_payload`), converted to :class:`AlertState` rows under the rule
``inbound/<receiver>`` and upserted (:class:`InboundAlerts`), so they sit beside Pulse's own
alerts for correlation, incidents and escalation. Alertmanager re-sends every group's alerts
each ``group_interval``/``repeat_interval``: a repeated delivery changes no state and appends no
transition.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from core.kernel.records.alerts import RESOLVED_RETENTION_MS, AlertState, Transition, fingerprint
from core.kernel.settings.inbound import InboundSettings
from core.storage import Database
from core.storage.repos.inbound_alerts import save_inbound

log = logging.getLogger("pulse.inbound")
RULE_PREFIX = "inbound/"
MAX_RECEIVER = 300 - len(RULE_PREFIX)  # alert_states.rule is VARCHAR(300)


class InboundError(Exception):
    """A request Pulse refuses: the HTTP status and the reason told to the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


# -- the payload ----------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = datetime(1, 1, 1, tzinfo=UTC)  # Go's zero time: Alertmanager's "0001-01-01T00:00:00Z"
_MS = timedelta(milliseconds=1)


def parse_time(text: str) -> int | None:
    """RFC 3339 (nanoseconds allowed, as Go writes them) to Unix ms; Go's zero time to None."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError("not an RFC 3339 time")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, zulu, sign, oh, om = m.group(7), m.group(8), m.group(9), m.group(10), m.group(11)
    offset = timedelta(0) if zulu else (1 if sign == "+" else -1) * timedelta(hours=int(oh), minutes=int(om))
    if offset >= timedelta(days=1):
        raise ValueError("offset out of range")
    micro = int((frac or "0").ljust(6, "0")[:6])
    dt = datetime(y, mo, d, h, mi, s, micro, tzinfo=UTC) - offset  # ValueError on a day 31 of February
    if dt == _ZERO:
        return None
    return (dt - _EPOCH) // _MS


def _time(v: Any) -> int | None:
    if not isinstance(v, str):
        raise PydanticCustomError("rfc3339", "must be an RFC 3339 time string")
    try:
        return parse_time(v)
    except (ValueError, OverflowError):
        raise PydanticCustomError(
            "rfc3339",
            "must be an RFC 3339 time such as 2024-05-01T12:00:00Z or {zero}",
            {"zero": "0001-01-01T00:00:00Z"},
        ) from None


def _text(v: str) -> str:
    """Text PostgreSQL and UTF-8 can hold: no unpaired surrogate (JSON "\\ud800"), no NUL."""
    try:
        v.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "must be valid Unicode text (unpaired surrogate)") from None
    if "\x00" in v:
        raise PydanticCustomError("nul", "must not contain NUL characters")
    return v


Text = Annotated[str, AfterValidator(_text)]


class WebhookAlert(BaseModel):
    """One alert of the payload; unknown fields are ignored (newer Alertmanagers add some)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[Text, Text]
    annotations: dict[Text, Text] = Field(default_factory=dict)
    starts_at: int | None = Field(alias="startsAt")
    ends_at: int | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str | None = None

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _times(cls, v: Any) -> int | None:
        return _time(v)

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        v = {k: val for k, val in v.items() if val != ""}  # an empty label is an absent one
        if not v.get("alertname"):
            raise PydanticCustomError("alertname", "alertname is required")
        if "" in v:
            raise PydanticCustomError("label_name", "label names must not be empty")
        return v

    @field_validator("starts_at")
    @classmethod
    def _started(cls, v: int | None) -> int | None:
        if v is None:
            raise PydanticCustomError("zero_start", "must be the time the alert started, not the zero time")
        return v


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (only the fields Pulse uses are checked)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    receiver: Text = Field(min_length=1, max_length=MAX_RECEIVER)
    status: Literal["firing", "resolved"]
    alerts: list[WebhookAlert]
    group_key: str = Field("", alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    external_url: str = Field("", alias="externalURL")


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            out += f"[{part}]" if isinstance(part, int) else part
        else:
            out += f".{part}" if out else part
    return out or "payload"


def describe(exc: ValidationError) -> str:
    """The first error as one line naming its field, e.g. ``alerts[3].labels: alertname is required``."""
    errors = exc.errors(include_url=False)
    e = errors[0]
    msg = e["msg"]
    msg = msg[0].lower() + msg[1:] if msg[:1].isupper() and msg[1:2].islower() else msg
    got = e.get("input")
    if isinstance(got, str | int | float | bool) and e["type"] not in ("missing",) and len(repr(got)) <= 80:
        msg += f" (got {got!r})"
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    line = f"{_where(e['loc'])}: {msg}{more}"
    return line.encode("utf-8", "backslashreplace").decode()  # a sender's broken text, made printable


def parse_payload(body: bytes, max_alerts: int = 1000) -> WebhookPayload:
    """Validate a request body whole; raise :class:`InboundError` (a 4xx) with the reason."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InboundError(400, "invalid JSON: nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise InboundError(400, f"invalid JSON: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:
        raise InboundError(400, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InboundError(400, f"payload: must be a JSON object, got {type(data).__name__}")
    version = data.get("version")
    if version != "4":
        got = repr(version)[:40] if version is not None else "none"
        raise InboundError(
            400, f'version: must be "4" (the Alertmanager webhook payload version 4), got {got}'
        )
    alerts = data.get("alerts")
    if isinstance(alerts, list) and len(alerts) > max_alerts:
        raise InboundError(
            413,
            f"alerts: {len(alerts)} alerts, more than the {max_alerts} accepted in one payload; "
            "set max_alerts in Alertmanager's webhook_configs or raise alerting.inbound.max_alerts",
        )
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        raise InboundError(400, describe(exc)) from None
    except RecursionError:
        raise InboundError(400, "payload: nested too deeply") from None


def to_states(payload: WebhookPayload, now_ms: int) -> list[AlertState]:
    """One state per alert (the last of a repeated label set wins), under ``inbound/<receiver>``.

    Firing: fired at ``startsAt``, last seen ``now_ms``. Resolved: resolved at ``endsAt`` (at
    ``now_ms`` when Alertmanager sent no end). The fingerprint is recomputed from the labels with
    Alertmanager's algorithm, so a sender cannot make two label sets collide.
    """
    rule = RULE_PREFIX + payload.receiver
    out: dict[str, AlertState] = {}
    for a in payload.alerts:
        fp = fingerprint(a.labels)
        start = a.starts_at if a.starts_at is not None else now_ms
        if a.status == "firing":
            out[fp] = AlertState(
                rule, fp, a.labels, a.annotations, "firing", start, start, None, now_ms, None
            )
        else:
            end = a.ends_at if a.ends_at is not None else now_ms
            out[fp] = AlertState(rule, fp, a.labels, a.annotations, "resolved", start, start, end, end, None)
    return list(out.values())


# -- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """What one delivery did: alerts it carried, and the state changes it made."""

    alerts: int
    firing: int
    resolved: int
    transitions: tuple[Transition, ...]


class InboundAlerts:
    """Parses deliveries and records them in the store; one per daemon, safe across threads.

    ``on_accept`` (optional) is called after every stored delivery with its states and the
    transitions it made, e.g. to run the notification stage at once; it runs on the HTTP
    server's thread, and its failures are logged, not returned to the sender.
    """

    def __init__(
        self,
        engine: Database,
        settings: InboundSettings,
        clock: Callable[[], float] = time.time,
        on_accept: Callable[[list[AlertState], list[Transition]], None] | None = None,
    ) -> None:
        self.engine, self.settings, self.clock, self.on_accept = engine, settings, clock, on_accept
        self._lock = threading.Lock()  # deliveries of the same alert must not race on its transition

    def parse(self, body: bytes) -> list[AlertState]:
        payload = parse_payload(body, self.settings.max_alerts)
        return to_states(payload, int(self.clock() * 1000))

    def record(self, states: Sequence[AlertState]) -> Accepted:
        """Upsert ``states`` (one transaction) and drop inbound alerts resolved long ago."""
        now = int(self.clock() * 1000)
        with self._lock:
            moves = save_inbound(self.engine, states, prune_before_ms=now - RESOLVED_RETENTION_MS)
        firing = sum(s.state == "firing" for s in states)
        if self.on_accept is not None:
            try:
                self.on_accept(list(states), moves)
            except Exception:  # stored already: the sender must not retry because a listener failed
                log.exception("inbound alerts: stored, but the on_accept callback failed")
        return Accepted(len(states), firing, len(states) - firing, tuple(moves))
