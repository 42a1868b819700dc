"""histogram_quantile: hand-checked cases of Prometheus's rules, and the real Prometheus's answers
for the same buckets (it scrapes them from a local server; we query it over HTTP)."""

from __future__ import annotations

import json
import math
import random
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from core.kernel.histogram import bucket_quantile, histogram_quantile
from tests.promstack import PROMETHEUS, Prometheus, require_binary

INF = math.inf


def q_of(q: float, pairs: list[tuple[str, float]]) -> float:
    frame = pl.DataFrame({"le": [le for le, _ in pairs], "value": [v for _, v in pairs]})
    return float(histogram_quantile(q, frame)["value"][0])


BASIC = [("0.1", 10), ("0.5", 30), ("1", 40), ("+Inf", 40)]


@pytest.mark.parametrize(
    ("q", "pairs", "expected"),
    [
        (0.5, BASIC, 0.3),  # rank 20 in (0.1, 0.5]: 0.1 + 0.4 * 10/20
        (0.99, BASIC, 0.98),  # rank 39.6 in (0.5, 1]: 0.5 + 0.5 * 9.6/10
        (0.05, BASIC, 0.02),  # first bucket starts at 0
        (1.0, BASIC, 1.0),
        (0.5, [("0.1", 1), ("+Inf", 10)], 0.1),  # rank in the +Inf bucket: highest finite bound
        (0.5, [("0.1", 5), ("0.5", 3), ("1", 8), ("+Inf", 8)], 0.08),  # counts forced monotonic
        (0.25, [("-1", 2), ("0", 4), ("+Inf", 4)], -1.0),  # a first bound <= 0 is the answer
        (0.5, [("1", 1), ("1.0", 1), ("2", 4), ("+Inf", 4)], 1.0),  # same bound twice: added up
        (-0.1, BASIC, -INF),
        (1.1, BASIC, INF),
    ],
)
def test_prometheus_rules(q: float, pairs: list[tuple[str, float]], expected: float) -> None:
    assert q_of(q, pairs) == pytest.approx(expected)


@pytest.mark.parametrize(
    "pairs",
    [
        [("0.1", 1), ("1", 2)],  # no +Inf bucket
        [("+Inf", 5)],  # fewer than two buckets
        [("0.1", 0), ("+Inf", 0)],  # no observations
        [("x", 1), ("+Inf", 2)],  # an le that is not a number is ignored -> one bucket
    ],
)
def test_undefined_cases_are_nan(pairs: list[tuple[str, float]]) -> None:
    assert math.isnan(q_of(0.5, pairs))


def test_nan_q_and_groups() -> None:
    assert math.isnan(bucket_quantile(math.nan, [1.0, INF], [1, 2]))
    frame = pl.DataFrame(
        {
            "job": ["b", "b", "b", "a", "a"],
            "ts": [1, 1, 1, 1, 1],
            "le": [1.0, 2.0, INF, 10.0, INF],
            "value": [0, 5, 10, 4, 4],
        }
    )
    out = histogram_quantile(0.5, frame)
    assert out.columns == ["job", "ts", "value"]
    assert out.rows() == [("a", 1, 5.0), ("b", 1, 2.0)]
    assert histogram_quantile(0.5, frame.clear()).columns == ["job", "ts", "value"]


# -- against the real Prometheus ---------------------------------------------------------------
def histograms(seed: int = 7) -> dict[str, list[tuple[float, int]]]:
    rng = random.Random(seed)
    out: dict[str, list[tuple[float, int]]] = {}
    for i in range(12):
        bounds = sorted(rng.sample([0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], rng.randint(1, 6)))
        if i == 0:
            bounds = [-2.0, -1.0, 0.0, 1.0]
        cum, total = [], 0
        for _ in [*bounds, INF]:
            total += rng.choice([0, 0, 1, 3, 10])
            cum.append(total)
        if i == 1:
            cum[1] = max(0, cum[1] - 5)  # a count that goes down
        out[str(i)] = list(zip([*bounds, INF], cum, strict=True))
    out["zero"] = [(0.1, 0), (INF, 0)]
    return out


def exposition(hists: dict[str, list[tuple[float, int]]]) -> bytes:
    lines = []
    for hid, buckets in hists.items():
        for le, count in buckets:
            bound = "+Inf" if le == INF else repr(le)
            lines.append(f'h_bucket{{id="{hid}",le="{bound}"}} {count}')
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def histogram_target() -> Iterator[str]:
    body = exposition(histograms())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_same_answers_as_prometheus(histogram_target: str, tmp_path: Path) -> None:
    require_binary(PROMETHEUS, "prometheus")
    prom = Prometheus(tmp_path, [histogram_target])
    prom.start()
    try:
        prom.wait_for_data('count(h_bucket{id="zero"}) == 2')
        hists = histograms()
        rows = [(hid, repr(le) if le != INF else "+Inf", c) for hid, bs in hists.items() for le, c in bs]
        frame = pl.DataFrame(rows, schema=["id", "le", "value"], orient="row")
        for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0):
            url = f"{prom.url}/api/v1/query?query=" + urllib.parse.quote(f"histogram_quantile({q}, h_bucket)")
            with urllib.request.urlopen(url, timeout=5) as resp:
                result = json.load(resp)["data"]["result"]
            theirs = {r["metric"]["id"]: float(r["value"][1]) for r in result}
            ours = dict(histogram_quantile(q, frame).rows())
            assert set(theirs) == set(ours) == set(hists)
            for hid in hists:
                a, b = ours[hid], theirs[hid]
                assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b), (q, hid, hists[hid], a, b)
    finally:
        prom.stop()
