"""Status cells stay readable: every coloured cell's text meets WCAG AA contrast (4.5:1) on its
background and on the theme's, for the statuses and source states the tables show."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from pages._render import STATE_STATUS, STATUS_STYLE, _status_style

THEME = tomllib.loads((Path(__file__).parents[2] / ".streamlit" / "config.toml").read_text())["theme"]


def luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of ``#RRGGBB``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def colours(css: str) -> tuple[str, str]:
    fg = re.search(r"(?<!-)color: (\S+);", css)
    bg = re.search(r"background-color: (\S+);", css)
    assert fg and bg, css
    f, b = fg.group(1), bg.group(1)
    return f, b


@pytest.mark.parametrize("status", [*STATUS_STYLE, *STATE_STATUS])
def test_every_status_cell_meets_wcag_aa(status: str) -> None:
    fg, bg = colours(_status_style(status))
    assert contrast(fg, bg) >= 4.5, (status, fg, bg)


@pytest.mark.parametrize("value", ["inactive", "unknown", "", "None"])
def test_other_values_keep_the_grids_own_colours(value: str) -> None:
    # no "inherit"/"transparent": the grid paints on a canvas, where they drew firing states invisibly
    assert _status_style(value) == ""


def test_the_contrast_helper_knows_black_on_white() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") < 4.5  # a grey that fails AA
