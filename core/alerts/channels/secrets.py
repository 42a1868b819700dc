"""Hide channel secrets in text shown to people: delivery errors, log records, the settings page.

Two layers: the exact secret values of the configured channels (registered when a channel is
built) and patterns for secrets whose value is not known here (a Slack webhook path, URL userinfo,
bearer tokens, ``password=``/``token=`` style parameters, ``routing_key`` fields).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

_known: set[str] = set()
_lock = threading.Lock()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # https://hooks.slack.com/services/T000/B000/XXXX: the whole path is the credential
    (
        re.compile(r"(hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)[^\s\"'<>]+", re.I),
        r"\1" + MASK,
    ),
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://)[^\s/@\"'<>]+@", re.I), r"\1" + MASK + "@"),
    # Authorization: Bearer xxx / Basic xxx
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.I), r"\1 " + MASK),
    # "routing_key": "…", "password": "…" (JSON or Python reprs)
    (
        re.compile(
            r"""(["']?(?:routing_key|integration_key|service_key|password|passwd|token|secret|api_key|apikey)["']?\s*[:=]\s*["'])[^"']+""",
            re.I,
        ),
        r"\1" + MASK,
    ),
    # ?token=…&password=… in URLs and form bodies
    (
        re.compile(
            r"([?&;](?:access_token|token|auth|key|api_key|apikey|secret|password|passwd|sig|signature|routing_key|code)=)[^&\s\"'#]+",
            re.I,
        ),
        r"\1" + MASK,
    ),
)

_SECRET_QUERY_NAMES = frozenset(
    {
        "access_token",
        "token",
        "auth",
        "key",
        "api_key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "sig",
        "signature",
        "code",
    }
)


def register_secret(*values: str | None) -> None:
    """Remember exact secret values so that :func:`mask` hides them wherever they appear."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _known.add(value)


def url_secrets(url: str) -> list[str]:
    """The secret parts of a URL: its userinfo and the values of token-like query parameters."""
    parts = urlsplit(url)
    found = [v for v in (parts.username, parts.password) if v]
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_QUERY_NAMES]
    return found


def mask(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every secret-looking pattern replaced by ``***``."""
    if not text:
        return text
    with _lock:
        values = sorted(
            {*_known, *(v for v in extra if v and len(v) >= _MIN_SECRET_LEN)}, key=len, reverse=True
        )
    for value in values:  # longest first: a URL before its path
        if value in text:
            text = text.replace(value, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def mask_url(url: str) -> str:
    """A URL fit for the UI: userinfo and token-like query values hidden, host and path kept."""
    return mask(url, url_secrets(url))


class MaskingFilter(logging.Filter):
    """A logger filter that rewrites each record's message with :func:`mask` (args folded in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave the record for logging to report
            return True
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


# Loggers that may print a request URL or header of a channel: filters on a logger only see
# records created on that very logger, so each is named (httpx logs "HTTP Request: POST <url>").
LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "core.alerts.channels",
    "core.alerts.channels.dispatch",
)
_installed: set[str] = set()


def install_log_masking() -> None:
    """Attach one :class:`MaskingFilter` to each logger in :data:`LOGGERS` (idempotent)."""
    with _lock:
        for name in LOGGERS:
            if name not in _installed:
                logging.getLogger(name).addFilter(MaskingFilter())
                _installed.add(name)
