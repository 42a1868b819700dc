"""Annotation and label templates, rendered as Prometheus renders them (Go text/template).

Prometheus prefixes every alert template with ``{{$labels := .Labels}}{{$externalLabels :=
.ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`` and executes it with its
function map (core/alerts/promfuncs.py) on the data ``{Labels, ExternalLabels, ExternalURL,
Value}``; so does Pulse, with its own engine (core/alerts/gotemplate). A template that does not
parse, or fails when executed, never stops a rule: ``check_template`` reports it (a warning on the
rule) and ``render`` yields Prometheus' ``<error expanding template: ...>`` text, logged once.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from core.alerts.gotemplate import Template, TemplateError, parse
from core.alerts.promfuncs import FUNC_NAMES, QueryFn, Sample, prometheus_funcs

__all__ = ["Sample", "TemplateError", "check_template", "expand", "render", "uses_query"]

log = logging.getLogger(__name__)
DEFS = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
_QUERY = re.compile(r"\{\{(?:[^}]|\}(?!\}))*?(?<![\w.$])query\b")
_LOGGED: set[tuple[str, str]] = set()
_MAX_LOGGED = 10_000


class AlertData:
    """Prometheus' AlertTemplateData struct."""

    go_type = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"

    def __init__(self, labels: Mapping[str, str], value: Any, external_labels: Mapping[str, str], url: str):
        self.go_fields: dict[str, Any] = {
            "Labels": dict(labels),
            "ExternalLabels": dict(external_labels),
            "ExternalURL": url,
            "Value": value,
        }


@lru_cache(maxsize=4096)
def _compiled(text: str, name: str) -> Template:
    return parse(text, name, FUNC_NAMES)


def expand(
    text: str,
    data: Any,
    *,
    name: str = "template",
    now_s: float | None = None,
    external_url: str = "",
    query: QueryFn | None = None,
) -> str:
    """Prometheus' ``Expander.Expand``: raises TemplateError when the template fails."""
    funcs = prometheus_funcs(time.time() if now_s is None else now_s, external_url, query)
    try:
        template = _compiled(text, name)
    except TemplateError as exc:
        raise TemplateError(f"error parsing template {name}: {exc}") from exc
    try:
        return template.execute(data, funcs)
    except TemplateError as exc:
        raise TemplateError(f"error executing template {name}: {exc}") from exc


def check_template(text: str, rule: str = "") -> None:
    """Parse as Prometheus does when it loads a rule; TemplateError says what is wrong."""
    _compiled(DEFS + text, f"__alert_{rule}")


def uses_query(text: str) -> bool:
    """Whether a template calls ``query`` (needs a Prometheus source to run)."""
    return _QUERY.search(text) is not None


def render(
    text: str,
    labels: Mapping[str, str],
    value: float | None,
    external_url: str = "",
    *,
    rule: str = "",
    external_labels: Mapping[str, str] | None = None,
    now_s: float | None = None,
    query: QueryFn | None = None,
) -> str:
    """Expand an alert's label or annotation template; a failure is Prometheus' error text."""
    if "{{" not in text:
        return text
    data = AlertData(labels, value, external_labels or {}, external_url)
    try:
        return expand(
            DEFS + text, data, name=f"__alert_{rule}", now_s=now_s, external_url=external_url, query=query
        )
    except TemplateError as exc:
        key = (rule, text)
        if key not in _LOGGED and len(_LOGGED) < _MAX_LOGGED:
            _LOGGED.add(key)
            log.warning("rule %s: expanding alert template failed: %s", rule or "?", exc)
        return f"<error expanding template: {exc}>"
