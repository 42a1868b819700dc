"""Runs escalation policies for open incidents: the step that is due, to its channels and users.

The policy of an incident is the ``escalation`` of the first route its first alert matches. Each
step goes out as a notification of the incident's firing alerts (group key ``incident:<id>``);
users are emailed through the first email channel at the address of their account. Every step is
written on the incident's timeline. Acknowledging or resolving the incident stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from core.alerts.escalation import advance, start
from core.alerts.routing import Route, match_routes
from core.incidents.service import IncidentService
from core.kernel.records.alerts import Alert, Notification
from core.kernel.records.incidents import IncidentDetail
from core.kernel.records.notifications import EscalationState
from core.kernel.settings.escalation import EscalationPolicy, EscalationStep
from core.storage import Database
from core.storage.repos.notifications import load_escalations, save_escalation
from core.storage.repos.users import UserRepo

log = logging.getLogger(__name__)
Send = Callable[[str, Notification], list[object]]


class Escalator:
    def __init__(
        self,
        engine: Database,
        incidents: IncidentService,
        route: Route,
        policies: Mapping[str, EscalationPolicy],
        send: Send,
        email_channel: str | None,
        external_url: str = "",
    ) -> None:
        self.engine, self.incidents, self.route, self.policies = engine, incidents, route, policies
        self.send, self.email_channel, self.external_url = send, email_channel, external_url
        self.states: dict[int, EscalationState] = load_escalations(engine)

    def policy_for(self, detail: IncidentDetail) -> str | None:
        for a in detail.alerts:
            for r in match_routes(self.route, a.labels):
                if r.escalation:
                    return r.escalation
        return None

    def opened(self, incident_id: int, now_ms: int) -> None:
        """Start the policy of a newly opened incident (if its alerts route to one)."""
        if incident_id in self.states or not self.policies:
            return
        policy = self.policy_for(self.incidents.get(incident_id))
        if policy is not None:
            self.states[incident_id] = start(incident_id, policy, now_ms)
            save_escalation(self.engine, self.states[incident_id])

    def tick(self, now_ms: int) -> int:
        """Notify the steps that are due; returns how many steps went out."""
        sent = 0
        for iid, state in list(self.states.items()):
            if state.done:
                continue
            detail = self.incidents.get(iid)
            stopped = detail.incident.state != "triggered"
            new, step = advance(state, self.policies[state.policy], now_ms, stopped)
            if new != state:
                self.states[iid] = new
                save_escalation(self.engine, new)
            if step is not None:
                self._notify(detail, state, step)
                sent += 1
        return sent

    def _notify(self, detail: IncidentDetail, state: EscalationState, step: EscalationStep) -> None:
        inc = detail.incident
        assert inc.id is not None
        alerts = tuple(
            Alert(dict(a.labels), dict(a.annotations), "firing", a.last_ms, None, a.value)
            for a in detail.alerts
            if a.state == "firing"
        )
        extra = {
            "incident_id": inc.id,
            "escalation_step": state.step + 1,
            "escalation_round": state.round + 1,
        }
        base = Notification(
            "", f"incident:{inc.id}", {"incident": str(inc.id)}, alerts, self.external_url, 0, extra
        )
        targets = [(c, base) for c in step.channels]
        if step.users:
            emails = self._emails(step.users)
            if self.email_channel and emails:
                targets.append((self.email_channel, _with(base, {**extra, "to": emails})))
            else:
                log.warning(
                    "escalation of incident %s: no email channel or address for users %s", inc.id, step.users
                )
        who = ", ".join(step.channels + [f"user {u}" for u in step.users])
        self.incidents.record_event(
            inc.id,
            "escalation",
            f"escalation step {state.step + 1} (round {state.round + 1}): {who}",
            actor="pulse",
        )
        for channel, n in targets:
            for d in self.send(channel, _with(n, n.extra, receiver=channel)):
                self.incidents.record_notification(inc.id, d)  # type: ignore[arg-type]

    def _emails(self, usernames: list[str]) -> list[str]:
        repo = UserRepo(self.engine)
        out = []
        for name in usernames:
            user = repo.get(name)
            if user is not None and user.email and not user.disabled:
                out.append(user.email)
        return out


def _with(n: Notification, extra: Mapping[str, object], receiver: str | None = None) -> Notification:
    return Notification(
        receiver or n.receiver,
        n.group_key,
        n.group_labels,
        n.alerts,
        n.external_url,
        n.truncated_alerts,
        dict(extra),
    )
