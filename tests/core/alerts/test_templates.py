from __future__ import annotations

import pytest

from core.alerts.templates import check_template, render


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("CPU on {{ $labels.host }} at {{ $value }}", 0.5, "CPU on h1 at 0.5"),
        ("{{ .Labels.host }}/{{ .Value }}", 2.0, "h1/2"),
        ("{{ $value | humanizePercentage }}", 0.9234, "92.34%"),
        ("{{ $value | humanize }}", 1234567.0, "1.235M"),
        ("{{ $value | humanize }}", 0.0012, "1.2m"),
        ("{{ $value | humanize1024 }}", 3 * 1024**3, "3Gi"),
        ("{{ $value | humanizeDuration }}", 3725.0, "1h 2m 5s"),
        ('{{ printf "%.1f" $value }}', 0.25, "0.2"),
        ("{{ $labels.missing }}!", 1.0, "!"),
        ("{{- $labels.host -}}", 1.0, "h1"),
        ("{{ $externalURL }}/alerts", 1.0, "http://pulse/alerts"),
    ],
)
def test_render(text: str, value: float, expected: str) -> None:
    check_template(text)
    assert render(text, {"host": "h1"}, value, "http://pulse") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ range $labels }}", "unsupported template action"),
        ("{{ $value | shout }}", "unknown template function 'shout'"),
        ("{{ $labels.host", "unbalanced"),
        ('{{ printf "%v %v" $value }}', "printf format"),
    ],
)
def test_unsupported_templates_are_refused_naming_the_construct(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_template(text)
