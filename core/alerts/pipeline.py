"""From alert states to notifications: silences and inhibition mute, routes group, groups flush.

``AlertPipeline.tick(alerts, now)`` is the whole Alertmanager-like stage of Pulse; it is pure
apart from the notification log and the ``send`` callback it is given, so its timers are tested
with plain numbers and the daemon wires it to the dispatcher and the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.alerts.grouping import Grouper, NotificationLog, Send
from core.alerts.inhibit import InhibitRule, inhibitor
from core.alerts.routing import Route
from core.alerts.silences import silenced_by
from core.kernel.records.alerts import Alert, AlertState, Notification, fingerprint
from core.kernel.records.notifications import Silence


def alert_link(external_url: str, labels: Mapping[str, str]) -> str:
    """The alert on Pulse's Alerts page (the ``generatorURL`` receivers and Alertmanager show)."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/alerts?alert={fingerprint(labels)}"


def to_alert(s: AlertState, external_url: str = "") -> Alert | None:
    """A firing or resolved state as an alert (linked to the Alerts page of ``external_url``);
    pending states are not alerts yet."""
    if s.state == "pending":
        return None
    link = alert_link(external_url, s.labels)
    starts = s.fired_at_ms if s.fired_at_ms is not None else s.active_at_ms
    if s.state == "resolved":
        return Alert(dict(s.labels), dict(s.annotations), "resolved", starts, s.resolved_at_ms, s.value, link)
    return Alert(dict(s.labels), dict(s.annotations), "firing", starts, None, s.value, link)


@dataclass
class TickResult:
    notifications: list[Notification] = field(default_factory=list)
    muted: dict[str, str] = field(default_factory=dict)  # fingerprint -> why ("silenced by ...")


class AlertPipeline:
    def __init__(
        self,
        route: Route,
        inhibit_rules: Sequence[InhibitRule],
        log: NotificationLog,
        send: Send,
        silences: Callable[[], Iterable[Silence]] = list,
        external_url: str = "",
    ) -> None:
        self.inhibit_rules, self.send, self.silences = inhibit_rules, send, silences
        self.grouper = Grouper(route, log, external_url)

    def mute_reasons(self, alerts: Sequence[Alert], now_ms: int) -> dict[str, str]:
        silences = list(self.silences())
        firing = [a for a in alerts if a.status == "firing"]
        out: dict[str, str] = {}
        for a in alerts:
            if ids := silenced_by(silences, a.labels, now_ms):
                out[a.fingerprint] = "silenced by " + ", ".join(ids)
            elif a.status == "firing" and (src := inhibitor(self.inhibit_rules, a, firing)) is not None:
                out[a.fingerprint] = f"inhibited by {src.name} ({src.fingerprint})"
        return out

    def tick(self, alerts: Sequence[Alert], now_ms: int) -> TickResult:
        muted = self.mute_reasons(alerts, now_ms)
        self.grouper.update([a for a in alerts if a.fingerprint not in muted], now_ms)
        return TickResult(self.grouper.flush_due(now_ms, self.send), muted)
