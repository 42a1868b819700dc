"""A flame graph of a profile as a plotly icicle (root on top, callees below, width = share)."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from core.optimization.profiles import Profile

MIN_SHARE = 0.002  # frames below 0.2 % of the samples are left out (the SVG would not show them either)


def flame_figure(profile: Profile, min_share: float = MIN_SHARE) -> go.Figure:
    inclusive: defaultdict[tuple[str, ...], float] = defaultdict(float)
    for stack, w in profile.stacks.items():
        for depth in range(1, len(stack) + 1):
            inclusive[stack[:depth]] += w
    total = profile.total or 1.0
    kept = sorted(k for k, w in inclusive.items() if w / total >= min_share)
    root = f"all ({profile.source})"
    ids = [root] + [";".join(k) for k in kept]
    labels = [root] + [k[-1].split(" (")[0] for k in kept]
    parents = [""] + [";".join(k[:-1]) if len(k) > 1 else root for k in kept]
    values = [total] + [inclusive[k] for k in kept]
    hover = [root] + [k[-1] for k in kept]
    fig = go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            customdata=hover,
            hovertemplate="%{customdata}<br>%{value:.4g} "
            + profile.unit
            + " (%{percentRoot:.1%})<extra></extra>",
            tiling={"orientation": "v"},
            root={"color": "lightgrey"},
        )
    )
    fig.update_layout(margin={"t": 30, "l": 0, "r": 0, "b": 0}, title=f"Flame graph: {profile.source}")
    return fig
