"""The routing tree (Alertmanager's ``route``): which receivers get an alert, grouped how, how often.

A route matches an alert when all its matchers do. The tree is walked depth first: the first
matching child takes the alert (and its own children are tried in turn); a child with
``continue: true`` lets the following siblings match as well; when no child matches, the
route itself takes it. Children inherit ``receiver``, ``group_by`` and the timers of their
parent unless they set them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.kernel.matchers import matches, parse_matchers
from core.kernel.selector import Matcher
from core.kernel.settings.routing import RouteSettings

ALL = "..."  # group_by: ["..."] groups by every label (one group per alert)


@dataclass(frozen=True)
class Route:
    """A resolved route node: every setting filled in from its ancestors."""

    path: str  # "0", "0.1", ... (stable id for group keys)
    receivers: tuple[str, ...]
    matchers: tuple[Matcher, ...]
    group_by: tuple[str, ...]
    group_wait_ms: int
    group_interval_ms: int
    repeat_interval_ms: int
    escalation: str | None
    continue_: bool
    children: tuple[Route, ...]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if ALL in self.group_by:
            return dict(labels)
        return {k: labels[k] for k in self.group_by if k in labels}


DEFAULT_GROUP_BY = ("alertname",)
DEFAULT_WAIT_MS, DEFAULT_INTERVAL_MS, DEFAULT_REPEAT_MS = 30_000, 300_000, 4 * 3_600_000  # Alertmanager's


def _ms(own: float | None, inherited_ms: int) -> int:
    return inherited_ms if own is None else int(own * 1000)


def build_route(cfg: RouteSettings, parent: Route | None = None, path: str = "0") -> Route:
    """Resolve a route settings tree: each node gets its ancestors' settings where it sets none."""
    p = parent
    node = Route(
        path=path,
        receivers=tuple(cfg.receivers) if cfg.receivers is not None else (p.receivers if p else ()),
        matchers=parse_matchers(cfg.matchers),
        group_by=tuple(cfg.group_by) if cfg.group_by is not None else (p.group_by if p else DEFAULT_GROUP_BY),
        group_wait_ms=_ms(cfg.group_wait_s, p.group_wait_ms if p else DEFAULT_WAIT_MS),
        group_interval_ms=_ms(cfg.group_interval_s, p.group_interval_ms if p else DEFAULT_INTERVAL_MS),
        repeat_interval_ms=_ms(cfg.repeat_interval_s, p.repeat_interval_ms if p else DEFAULT_REPEAT_MS),
        escalation=cfg.escalation if cfg.escalation is not None else (p.escalation if p else None),
        continue_=cfg.continue_,
        children=(),
    )
    children = tuple(build_route(c, node, f"{path}.{i}") for i, c in enumerate(cfg.routes))
    return replace(node, children=children)


def match_routes(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes that take an alert (Alertmanager's ``Route.Match``)."""
    if not matches(route.matchers, labels):
        return []
    found: list[Route] = []
    for child in route.children:
        hits = match_routes(child, labels)
        found.extend(hits)
        if hits and not child.continue_:
            break
    return found or [route]


def all_routes(route: Route) -> list[Route]:
    return [route, *(r for c in route.children for r in all_routes(c))]
