"""The what-if planner: the baseline forecast re-projected under a :class:`Scenario`.

Pure functions of a :class:`Baseline` (computed once per range) and a scenario, so moving a slider
costs no store read and no model fit:

* **demand** (used cores, used GiB) at each forecast step is the baseline's point forecast and
  interval times ``1 + growth * (step / horizon) + onboarded * share``: user growth reached
  linearly by the horizon's end, each onboarded team adding the profile team's share of today's
  use (its containers' mean use over the history divided by the fleet's) from the first step. The
  interval is scaled with the point forecast;
* **capacity** is today's hosts plus the added ones (of the scenario's host size, the fleet's
  average by default) minus the removed ones (of the average size);
* **utilization** is demand over capacity; **exhaustion** the dates it crosses the target and
  100 %, early and late from the interval (:func:`time_to_exhaustion`);
* **hosts needed** are the hosts of the scenario's size that keep the peak demand of the horizon
  (point forecast; and the upper bound) under the target utilization, CPU and memory alike;
* **monthly cost** is cores and GiB held around the clock at the scenario's unit prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl

from core.capacity.exhaustion import Exhaustion, time_to_exhaustion
from core.capacity.fleet import Baseline
from core.capacity.forecast import Forecast
from core.capacity.scenario import Scenario, ScenarioError

Resource = Literal["cpu", "memory"]
RESOURCES: dict[Resource, tuple[str, str]] = {"cpu": ("cpu_cores", "cores"), "memory": ("memory_gib", "GiB")}


@dataclass(frozen=True)
class Capacity:
    hosts: int
    cores: float
    memory_gib: float


@dataclass(frozen=True)
class Projection:
    """A scenario projected on the baseline: frames for the chart, tables and the CSV."""

    scenario: Scenario
    now: Capacity
    planned: Capacity
    host_cores: float  # size of an added host
    host_memory_gib: float
    forecast: pl.DataFrame  # ts, resource, plan, demand_*, utilization_* (mean, lower, upper)
    history: pl.DataFrame  # ts, resource, demand, utilization (today's capacity)
    exhaustion: pl.DataFrame  # resource, plan, threshold, at, earliest, latest, already
    hosts_needed: dict[Resource, tuple[int, int]]  # resource -> (point, upper bound)

    @property
    def hosts_needed_total(self) -> tuple[int, int]:
        point = max(v[0] for v in self.hosts_needed.values())
        return point, max(v[1] for v in self.hosts_needed.values())

    def monthly_cost(self, which: Literal["now", "planned", "needed"]) -> float:
        s = self.scenario
        if which == "needed":
            return self.hosts_needed_total[0] * s.monthly(self.host_cores, self.host_memory_gib)
        cap = self.now if which == "now" else self.planned
        return s.monthly(cap.cores, cap.memory_gib)

    def summary(self) -> dict[str, object]:
        """One row of the side-by-side comparison: the inputs and the headline results."""
        row: dict[str, object] = dict(self.scenario.model_dump())
        row.update(hosts_now=self.now.hosts, hosts_planned=self.planned.hosts)
        row["hosts_needed"], row["hosts_needed_upper"] = self.hosts_needed_total
        for r in RESOURCES:
            part = self.forecast.filter((pl.col("resource") == r) & (pl.col("plan") == "scenario"))
            row[f"{r}_peak_utilization"] = _peak(part["utilization_mean"])
            ex = self.exhaustion.filter(
                (pl.col("resource") == r) & (pl.col("plan") == "scenario") & (pl.col("threshold") < 1.0)
            )
            row[f"{r}_over_target_at"] = ex["at"][0] if ex.height else None
        row["monthly_cost_planned"] = self.monthly_cost("planned")
        row["monthly_cost_needed"] = self.monthly_cost("needed")
        return row


def _peak(values: pl.Series) -> float:
    top = values.max()
    return float(top) if isinstance(top, int | float) else 0.0


def check(baseline: Baseline, s: Scenario) -> None:
    """ScenarioError when the scenario makes no sense against this fleet."""
    if reason := baseline.undefined:
        raise ScenarioError(f"nothing to plan: {reason}")
    n = baseline.fleet.hosts.height
    if n + s.hosts_added <= 0:
        raise ScenarioError(
            f"zero hosts: the fleet has {n} host{'s' * (n != 1)} and the scenario removes "
            f"{-s.hosts_added}; keep at least one host (hosts added above {-n})"
        )
    if s.target_utilization <= 0:
        raise ScenarioError("target utilization 0 %: no host could run anything; pick a target above 0 %")
    if s.user_growth_pct < -100:
        raise ScenarioError(f"user growth {s.user_growth_pct:g} % is below -100 % (fewer than no users)")
    teams = baseline.fleet.teams["team"].to_list()
    if s.teams_onboarded and not teams:
        raise ScenarioError(
            "no team usage recorded (container_cpu_usage_cores): cannot onboard teams by profile"
        )
    if s.profile_team and s.profile_team not in teams:
        raise ScenarioError(
            f"profile team {s.profile_team!r} is not one of the teams you see ({', '.join(teams) or 'none'})"
        )


def _shares(baseline: Baseline, team: str) -> dict[Resource, float]:
    """The profile team's (or the average team's) mean use as a share of the fleet's."""
    fleet, teams = baseline.fleet, baseline.fleet.teams
    picked = teams.filter(pl.col("team") == team) if team else teams.select(pl.exclude("team").mean())
    out: dict[Resource, float] = {}
    for r, (column, _) in RESOURCES.items():
        total = fleet.usage[column].mean()
        use = picked[column][0] if picked.height and column in picked.columns else 0.0
        out[r] = float(use or 0.0) / float(total) if isinstance(total, int | float) and total > 0 else 0.0
    return out


def _capacity(baseline: Baseline, s: Scenario) -> tuple[Capacity, Capacity, float, float]:
    hosts = baseline.fleet.hosts
    n, cores, mem = hosts.height, baseline.fleet.cores, baseline.fleet.memory_gib
    size_cores, size_mem = s.host_cores or cores / n, s.host_memory_gib or mem / n
    if s.hosts_added >= 0:
        add_cores, add_mem = s.hosts_added * size_cores, s.hosts_added * size_mem
    else:
        add_cores, add_mem = s.hosts_added * cores / n, s.hosts_added * mem / n
    return (
        Capacity(n, cores, mem),
        Capacity(n + s.hosts_added, cores + add_cores, mem + add_mem),
        size_cores,
        size_mem,
    )


def _exhaustion(fc: Forecast, r: str, plan: str, thresholds: tuple[float, ...]) -> list[dict[str, object]]:
    def row(ex: Exhaustion) -> dict[str, object]:
        return {
            "resource": r,
            "plan": plan,
            "threshold": ex.threshold,
            "at": ex.at_ms,
            "earliest": ex.earliest_ms,
            "latest": ex.latest_ms,
            "already": ex.already,
        }

    return [row(time_to_exhaustion(fc, t, "above")) for t in thresholds]


EXHAUSTION_SCHEMA = {
    "resource": pl.Utf8,
    "plan": pl.Utf8,
    "threshold": pl.Float64,
    "at": pl.Int64,
    "earliest": pl.Int64,
    "latest": pl.Int64,
    "already": pl.Boolean,
}


def project(baseline: Baseline, s: Scenario) -> Projection:
    """The scenario's utilization, exhaustion dates, hosts needed and cost (ScenarioError if absurd)."""
    check(baseline, s)
    now, planned, size_cores, size_mem = _capacity(baseline, s)
    shares = _shares(baseline, s.profile_team)
    parts, history, exhaustion, needed = [], [], [], {}
    thresholds = tuple(sorted({s.target_utilization, 1.0}))
    for r, (column, _) in RESOURCES.items():
        fc = baseline.cpu if r == "cpu" else baseline.memory
        cap_now, cap_plan = (now.cores, planned.cores) if r == "cpu" else (now.memory_gib, planned.memory_gib)
        steps = fc.frame.height
        ramp = np.arange(1, steps + 1, dtype=np.float64) / max(steps, 1)
        onboard = s.teams_onboarded * shares[r]
        factor = 1.0 + s.user_growth_pct / 100.0 * ramp + onboard
        base = fc.frame.rename({"mean": "demand_mean", "lower": "demand_lower", "upper": "demand_upper"})
        base = base.with_columns(pl.col("demand_lower").clip(lower_bound=0.0))
        scen = base.with_columns(
            pl.col(c) * pl.Series(factor) for c in ("demand_mean", "demand_lower", "demand_upper")
        )
        for plan, frame, cap in (("baseline", base, cap_now), ("scenario", scen, cap_plan)):
            util = frame.with_columns(
                (pl.col(f"demand_{k}") / cap).alias(f"utilization_{k}") for k in ("mean", "lower", "upper")
            )
            parts.append(util.with_columns(resource=pl.lit(r), plan=pl.lit(plan)))
            start = fc.last_value or 0.0
            start *= 1.0 + (onboard if plan == "scenario" else 0.0)
            as_util = replace(
                fc,
                frame=util.select(
                    "ts", mean="utilization_mean", lower="utilization_lower", upper="utilization_upper"
                ),
                last_value=start / cap,
            )
            exhaustion += _exhaustion(as_util, r, plan, thresholds)
        size = size_cores if r == "cpu" else size_mem
        per_host = s.target_utilization * size
        needed[r] = (
            math.ceil(_peak(scen["demand_mean"]) / per_host),
            math.ceil(_peak(scen["demand_upper"]) / per_host),
        )
        hist = baseline.fleet.usage.select("ts", pl.col(column).alias("demand")).drop_nulls()
        history.append(hist.with_columns(resource=pl.lit(r), utilization=pl.col("demand") / cap_now))
    first = ["ts", "resource", "plan"]
    forecast = pl.concat(parts).select(*first, pl.exclude(first))
    return Projection(
        scenario=s,
        now=now,
        planned=planned,
        host_cores=size_cores,
        host_memory_gib=size_mem,
        forecast=forecast,
        history=pl.concat(history).select("ts", "resource", "demand", "utilization"),
        exhaustion=pl.DataFrame(exhaustion, schema=EXHAUSTION_SCHEMA),
        hosts_needed=needed,
    )
