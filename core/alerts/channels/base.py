"""The channel contract and the record of one delivery attempt.

A channel turns one :class:`~core.kernel.records.alerts.Notification` into one request to its receiver and
returns a :class:`Delivery` saying what happened; it never raises for a receiver's failure and
never retries (the dispatcher does both). Channels take their I/O (``httpx.Client``, clock) as
constructor arguments.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal, Protocol, runtime_checkable

import httpx

from core.alerts.channels.secrets import mask
from core.kernel.records.alerts import Notification
from core.kernel.records.notifications import Delivery

Clock = Callable[[], float]  # Unix seconds, like time.time
Action = Literal["trigger", "resolve", "acknowledge", "resend", "test"]
Outcome = Literal["delivered", "failed", "rate_limited", "dropped"]
USER_AGENT = "MCP-Pulse/0.1"
_MAX_BODY_SHOWN = 300


@runtime_checkable
class Channel(Protocol):
    """What the dispatcher needs of a channel."""

    name: str

    def send(self, n: Notification) -> Delivery:
        """Deliver ``n`` once; a failure comes back as ``Delivery(ok=False, ...)``, never raised."""
        ...

    def secrets(self) -> list[str]:
        """The secret values this channel holds, so that they are masked wherever they appear."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Acknowledging(Protocol):
    """A channel whose receiver has an acknowledged state (PagerDuty)."""

    def acknowledge(self, n: Notification) -> Delivery: ...


def action_of(n: Notification) -> str:
    return "trigger" if n.status == "firing" else "resolve"


def retryable_status(code: int) -> bool:
    """Server errors, timeouts and rate limits may pass later; other 4xx will not."""
    return code >= 500 or code in (408, 425, 429)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def tls_verify(verify_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    """What ``httpx`` and ``smtplib`` verify with: a context for a custom CA, else a flag."""
    if not verify_tls:
        return False
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return True


def make_client(timeout_s: float, verify_tls: bool = True, ca_file: str | None = None) -> httpx.Client:
    return httpx.Client(
        timeout=timeout_s,
        verify=tls_verify(verify_tls, ca_file),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


class HttpSender:
    """The POST-and-classify part shared by the HTTP channels."""

    def __init__(
        self,
        name: str,
        client: httpx.Client | None,
        timeout_s: float,
        clock: Clock,
        make: Callable[[], httpx.Client],
    ) -> None:
        self.name, self.timeout_s, self.clock = name, timeout_s, clock
        self._own = client is None
        self.client = client if client is not None else make()

    def post(
        self,
        url: str,
        body: Any,
        *,
        action: str,
        group_key: str,
        alerts: int,
        secrets: list[str],
        headers: Mapping[str, str] | None = None,
        accept: Callable[[httpx.Response], str | None] | None = None,
    ) -> Delivery:
        """POST ``body`` as JSON; ``accept`` may reject a 2xx answer by returning an error text."""
        at_ms = int(self.clock() * 1000)
        started = time.monotonic()
        base = Delivery(
            channel=self.name,
            at_ms=at_ms,
            ok=False,
            action=action,
            group_key=group_key,
            outcome="failed",
            alerts=alerts,
        )
        try:
            resp = self.client.post(url, json=body, headers=dict(headers or {}), timeout=self.timeout_s)
        except httpx.HTTPError as exc:  # refused, reset, timed out, TLS: the receiver may come back
            took = int((time.monotonic() - started) * 1000)
            error = mask(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets)
            return replace(base, error=error, retryable=True, duration_ms=took)
        took = int((time.monotonic() - started) * 1000)
        code = resp.status_code
        if 200 <= code < 300:
            problem = accept(resp) if accept else None
            if problem is None:
                return replace(base, ok=True, outcome="delivered", status_code=code, duration_ms=took)
            return replace(
                base,
                ok=False,
                outcome="failed",
                status_code=code,
                error=mask(problem, secrets),
                duration_ms=took,
            )
        text = resp.text.strip().replace("\n", " ")[:_MAX_BODY_SHOWN]
        return replace(
            base,
            ok=False,
            outcome="failed",
            status_code=code,
            error=mask(f"HTTP {code} {resp.reason_phrase}: {text}".rstrip(": "), secrets),
            retryable=retryable_status(code),
            retry_after_s=retry_after(resp.headers.get("Retry-After")),
            duration_ms=took,
        )

    def close(self) -> None:
        if self._own:
            self.client.close()


class HttpChannel:
    """What the HTTP channels share: their settings and name, one HTTP sender, bearer auth, close()."""

    def __init__(self, settings: Any, client: httpx.Client | None = None, clock: Clock = time.time) -> None:
        self.settings = settings
        self.name: str = settings.name
        self.clock = clock
        self._http = HttpSender(
            settings.name,
            client,
            settings.timeout_s,
            clock,
            lambda: make_client(settings.timeout_s, settings.verify_tls, settings.ca_file),
        )

    def bearer(self) -> dict[str, str]:
        token = getattr(self.settings, "bearer_token", None)
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}

    def close(self) -> None:
        self._http.close()
