"""CSV exports of dashboard tables, safe to open in a spreadsheet.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (CSV injection, OWASP), also after leading spaces
and in the full-width forms ``＝ ＋ － ＠`` that spreadsheets fold to ASCII; such cells get a
leading apostrophe. Numbers stay numbers: a negative value is not text and is left alone.
The dashboard shows tables already neutralised (``pages/_render.py``), so the CSV that
Streamlit's own table toolbar offers is safe too.
"""

from __future__ import annotations

import json
import re

import polars as pl

from core.kernel.times import fmt_compact

# optional leading blanks (ASCII, no-break and ideographic spaces), then a formula trigger, ASCII or
# full-width; or a tab, CR or LF first of all
_TRIGGER = r"^(?:[ \u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r\n])"
_TRIGGER_RE = re.compile(_TRIGGER)


def neutralise(value: str) -> str:
    """``=1+1`` -> ``'=1+1`` (also `` =1``, ``＝1``, ``\t=1``); anything else unchanged."""
    return "'" + value if _TRIGGER_RE.match(value) else value


def _as_json(s: pl.Series) -> pl.Series:
    return pl.Series(
        s.name, [None if v is None else json.dumps(v, default=str) for v in s.to_list()], pl.Utf8
    )


def _text_columns(df: pl.DataFrame) -> list[str]:
    return [n for n, t in df.schema.items() if t == pl.Utf8 or isinstance(t, pl.Categorical | pl.Enum)]


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells neutralised; nested and object columns rendered as text first (then neutralised)."""
    nested = [n for n, t in df.schema.items() if isinstance(t, pl.List | pl.Array | pl.Struct | pl.Object)]
    if nested:
        df = df.with_columns(pl.col(n).map_batches(_as_json, return_dtype=pl.Utf8) for n in nested)
    text = _text_columns(df)
    return df.with_columns(
        pl.when(pl.col(n).cast(pl.Utf8).str.contains(_TRIGGER))
        .then(pl.lit("'") + pl.col(n).cast(pl.Utf8))
        .otherwise(pl.col(n).cast(pl.Utf8))
        .alias(n)
        for n in text
    )


def to_csv_bytes(df: pl.DataFrame) -> bytes:
    """UTF-8 CSV with a (neutralised) header row; datetimes as ISO 8601 in UTC, missing values empty."""
    safe = safe_frame(df)
    safe = safe.rename({n: neutralise(n) for n in safe.columns if n != neutralise(n)})
    return safe.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S%.3fZ").encode("utf-8")


def file_name(view: str, start_ms: int, end_ms: int) -> str:
    """``pulse-<view>-<start>-<end>.csv`` with compact UTC times, e.g. ``pulse-health-hosts-20250101T0000Z-...``."""
    slug = re.sub(r"[^a-z0-9]+", "-", view.lower()).strip("-") or "export"
    return f"pulse-{slug}-{fmt_compact(start_ms)}-{fmt_compact(end_ms)}.csv"
