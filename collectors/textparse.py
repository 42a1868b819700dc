"""A streaming line parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text.

It follows Prometheus' own parser (``model/textparse/promlex.l``, ``promparse.go``,
``openmetricslex.l``, ``openmetricsparse.go``; Apache-2.0), line by line from an iterator of
byte chunks, so the body is never held whole:

- text format: ``#`` lines other than ``# HELP``/``# TYPE`` are comments, blank lines are
  allowed, the value is a Go float (``NaN``, ``+Inf``, ``-Inf``; no ``_``, no hex, no overflow:
  ``1e999`` is an error), the optional timestamp is integer milliseconds (``[0-9]+``, at most
  int64) and nothing may follow it; the body ends with a line break;
- OpenMetrics: only ``# HELP``, ``# TYPE``, ``# UNIT`` and ``# EOF`` comments, no blank lines,
  the timestamp is float seconds (not NaN or infinite), exemplars (``# {...} v [ts]``) are
  skipped, and the body ends with ``# EOF``;
- label values are unescaped as Prometheus does (``\\"``, ``\\\\``, ``\\n``; any other escape is
  kept as written); quoted (UTF-8) metric and label names are accepted; a NaN value is Prometheus'
  canonical NaN, never its stale marker. A trailing ``\\r`` is tolerated (CRLF bodies).

Every error is a :class:`ParseError` naming the line number, the start of the line and why.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NORMAL_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]  # value.NormalNaN
MAX_INT64 = 2**63 - 1
TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)
SNIPPET = 60  # characters of the line quoted in an error

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_DIGITS = re.compile(r"[0-9]+")
_INF = float("inf")
# the common line, in one match: name, optional {name="value",...}, one space, value, [ts]
_FAST = re.compile(
    r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^\\"]|\\.)*",?)*)\})? ([^ \t{]+)(?: ([^ \t]+))?'
)
_FAST_OM = re.compile(
    r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^\\"]|\\.)*"(?:,|(?=\})))*)\})? ([^ \t{]+)(?: ([^ \t]+))?'
)
_EXEMPLAR = re.compile(r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^\\"]|\\.)*"(?:,|(?=\})))*\} ([^ ]+)(?: ([^ ]+))?')
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^\\"]|\\.)*)"')
_LNAME = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*|"((?:[^\\"]|\\.)*)"')
_QUOTED = re.compile(r'"((?:[^\\"]|\\.)*)"')
_WS = re.compile(r"[ \t]*")
_UNESCAPE = re.compile(r'\\(["\\n])')


class ParseError(Exception):
    """A line that breaks the grammar: ``line N ('the line'): why``."""

    def __init__(self, line_no: int, line: str | bytes, reason: str) -> None:
        self.line_no, self.reason = line_no, reason
        super().__init__(f"line {line_no} ({snippet(line)}): {reason}")


def snippet(line: str | bytes) -> str:
    """The start of a line, quoted, cut at SNIPPET characters (undecodable bytes as ``\\xNN``)."""
    text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
    return repr(text[:SNIPPET] + ("..." if len(text) > SNIPPET else ""))


class LabelLimitError(ParseError):
    """A label set longer than ``max_labels``: the line was not read to its end."""


@dataclass(slots=True)
class Meta:
    """A ``# HELP``, ``# TYPE`` or ``# UNIT`` line (``kind`` is ``help``, ``type`` or ``unit``)."""

    kind: str
    name: str
    text: str


@dataclass(slots=True)
class Series:
    """One sample line: name, labels as written (unescaped), value, timestamp in ms or None."""

    name: str
    labels: list[tuple[str, str]]
    value: float
    ts_ms: int | None


def lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a chunked body without their ``\\n`` (a last line without one too)."""
    rest = b""
    for chunk in chunks:
        if b"\n" not in chunk:
            rest += chunk
            continue
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], value) if "\\" in value else value


def parse_float(token: str, what: str = "value") -> float:
    """A Go ``strconv.ParseFloat`` as Prometheus calls it: decimal or NaN/Inf; overflow is an error.

    Python's float() also takes ``_`` separators, non-ASCII digits and a signed NaN: refused here.
    """
    if "_" in token or not token.isascii():
        raise ValueError(f"{what} {token[:40]!r} is not a number")
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{what} {token[:40]!r} is not a number") from None
    if value != value:
        if token[0] in "+-":
            raise ValueError(f"{what} {token[:40]!r} is not a number")
        return NORMAL_NAN
    if value in (_INF, -_INF) and token.lstrip("+-")[:1] not in ("i", "I"):
        raise ValueError(f"{what} {token[:40]!r} out of range")
    return value


class LineParser:
    """Parses one body, line by line; ``max_labels`` stops a label set early (the label limit)."""

    def __init__(self, openmetrics: bool, max_labels: int = 0) -> None:
        self.om, self.max_labels = openmetrics, max_labels
        self.line_no, self.line = 0, ""
        self.eof = False

    def feed(self, chunks: Iterable[bytes]) -> Iterator[Meta | Series]:
        """Every entry of the body, in order; ParseError at the first bad line."""
        for raw in lines(chunks):
            self.line_no += 1
            try:
                self.line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1].hex()
                raise ParseError(
                    self.line_no, raw, f"invalid UTF-8 (byte 0x{bad} at column {exc.start + 1})"
                ) from None
            line = self.line.removesuffix("\r")
            if self.line_no == 1:
                line = line.removeprefix("\ufeff")
            if self.eof:
                raise self.error("unexpected data after # EOF")
            entry = self.parse_line(line)
            if entry is not None:
                yield entry
        if self.om and not self.eof:
            raise self.error("data does not end with # EOF")

    def error(self, reason: str) -> ParseError:
        return ParseError(self.line_no, self.line, reason)

    def parse_line(self, line: str) -> Meta | Series | None:
        if not line:
            if self.om:
                raise self.error("blank line (OpenMetrics allows none)")
            return None
        if line[0] == "#":
            return self.comment(line)
        if not self.om and line[0] in " \t":
            line = line.lstrip(" \t")
            if not line:
                return None
        if self.max_labels and line.count("=") > self.max_labels:
            return self.slow(line)  # perhaps too many labels: stop at the limit, not at the end
        m = (_FAST_OM if self.om else _FAST).fullmatch(line)
        if m is not None:
            name, raw_labels, value, ts = m.groups()
            labels = _PAIR.findall(raw_labels) if raw_labels else []
            if self.max_labels and len(labels) > self.max_labels:
                raise LabelLimitError(self.line_no, self.line, self.too_many(name))
            if raw_labels and "\\" in raw_labels:
                labels = [(k, unescape(v)) for k, v in labels]
            return Series(name, labels, self.value(value), self.timestamp(ts))
        return self.slow(line)

    def too_many(self, name: str) -> str:
        return (
            f"label_limit exceeded (metric: {name[:50]}, number of labels: more than {self.max_labels}, "
            f"limit: {self.max_labels})"
        )

    def value(self, token: str) -> float:
        try:
            return parse_float(token)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def timestamp(self, token: str | None) -> int | None:
        if token is None:
            return None
        if self.om:
            try:
                seconds = parse_float(token, "timestamp")
            except ValueError as exc:
                raise self.error(str(exc)) from None
            if seconds != seconds or seconds in (float("inf"), float("-inf")):
                raise self.error(f"invalid timestamp {token[:40]!r}")
            ms = int(seconds * 1000)
            if abs(ms) > MAX_INT64:
                raise self.error(f"timestamp out of range: {token[:40]!r}")
            return ms
        if _DIGITS.fullmatch(token) is None:
            raise self.error(f"timestamp must be integer milliseconds, got {token[:40]!r}")
        ms = int(token)
        if ms > MAX_INT64:
            raise self.error(f"timestamp out of range (int64 milliseconds): {token[:40]!r}")
        return ms

    def comment(self, line: str) -> Meta | None:
        parts = line.split(None, 3) if not self.om else line.split(" ", 3)
        if len(parts) >= 2 and parts[0] == "#" and parts[1] in ("HELP", "TYPE", "UNIT"):
            kind = parts[1]
            if kind == "UNIT" and not self.om:
                return None
            if len(parts) < 3 or not parts[2]:
                raise self.error(f"expected a metric name after {kind}")
            name = parts[2]
            if name.startswith('"'):
                q = _QUOTED.match(line, line.index('"'))
                if q is None:
                    raise self.error("unterminated quoted metric name")
                name, text = unescape(q[1]), line[q.end() :].lstrip(" \t")
            else:
                if _NAME.fullmatch(name) is None:
                    raise self.error(f"invalid metric name {name[:50]!r} after {kind}")
                text = parts[3] if len(parts) > 3 else ""
            return self.meta(kind.lower(), name, text)
        if self.om:
            if line == "# EOF":
                self.eof = True
                return None
            raise self.error("OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF comments")
        return None

    def meta(self, kind: str, name: str, text: str) -> Meta:
        if kind == "type":
            text = text if self.om else text.strip()
            if text not in (OM_TYPES if self.om else TEXT_TYPES):
                raise self.error(f"invalid metric type {text[:30]!r}")
        if kind == "unit" and text and not (name.endswith("_" + text)):
            raise self.error(f"unit {text[:30]!r} not a suffix of metric {name[:50]!r}")
        return Meta(kind, name, text)

    def slow(self, line: str) -> Series:
        """The full grammar, token by token, for lines the one-match path does not take."""
        pos, name = 0, None
        m = _NAME.match(line)
        if m is not None:
            name, pos = m[0], m.end()
        elif line[0] != "{":
            hint = " (is this JSON?)" if line[0] == "[" and self.line_no == 1 else ""
            raise self.error(f"expected a metric name or a comment, got {line[:10]!r}{hint}")
        if not self.om:
            pos = _WS.match(line, pos).end()  # type: ignore[union-attr]
        labels: list[tuple[str, str]] = []
        if pos < len(line) and line[pos] == "{":
            name, pos = self.label_set(line, pos + 1, name, labels)
        if name is None:
            raise self.error("metric name not set")
        rest = line[pos:]
        if self.om:
            rest = self.strip_exemplar(rest)
            tokens = rest[1:].split(" ") if rest.startswith(" ") else [rest] if rest else []
            if tokens and "\t" in rest:
                raise self.error("OpenMetrics separates tokens with single spaces, not tabs")
        else:
            tokens = rest.split()
        if not tokens:
            raise self.error(f"expected a value after {name[:50]!r}")
        if len(tokens) > 2:
            raise self.error(f"expected a line break after the timestamp, got {tokens[2][:20]!r}")
        if self.om and rest[:1] != " ":
            raise self.error(f"expected a space before the value of {name[:50]!r}")
        return Series(
            name, labels, self.value(tokens[0]), self.timestamp(tokens[1] if len(tokens) > 1 else None)
        )

    def label_set(
        self, line: str, pos: int, name: str | None, labels: list[tuple[str, str]]
    ) -> tuple[str | None, int]:
        json_hint = " (is this JSON?)" if self.line_no == 1 and name is None else ""
        while True:
            pos = _WS.match(line, pos).end()  # type: ignore[union-attr]
            if pos >= len(line):
                raise self.error("label set not closed with '}'")
            if line[pos] == "}":
                return name, pos + 1
            m = _LNAME.match(line, pos)
            if m is None:
                raise self.error(f"expected a label name, got {line[pos : pos + 10]!r}{json_hint}")
            quoted = m[1] is not None
            key = unescape(m[1]) if quoted else m[0]
            pos = _WS.match(line, m.end()).end()  # type: ignore[union-attr]
            nxt = line[pos : pos + 1]
            if quoted and nxt in (",", "}"):  # a quoted metric name: {"my.metric", ...}
                if name is not None:
                    raise self.error(f"metric name already set ({name[:50]!r})")
                name, pos = key, pos + (nxt == ",")
                continue
            if nxt != "=":
                raise self.error(f"expected '=' after label name {key[:50]!r}{json_hint}")
            pos = _WS.match(line, pos + 1).end()  # type: ignore[union-attr]
            v = _QUOTED.match(line, pos)
            if v is None:
                what = "not closed" if line[pos : pos + 1] == '"' else "not quoted"
                raise self.error(f"value of label {key[:50]!r} {what}")
            labels.append((key, unescape(v[1])))
            if self.max_labels and len(labels) > self.max_labels:
                raise LabelLimitError(self.line_no, self.line, self.too_many(name or "?"))
            pos = _WS.match(line, v.end()).end()  # type: ignore[union-attr]
            if line[pos : pos + 1] == ",":
                pos += 1
            elif self.om and line[pos : pos + 1] != "}":
                raise self.error(f"expected ',' or '}}' after the value of label {key[:50]!r}")

    def strip_exemplar(self, rest: str) -> str:
        """The line before an exemplar (``# {labels} value [timestamp]``), which is checked and skipped."""
        at = rest.find(" # ")
        if at < 0:
            return rest
        m = _EXEMPLAR.fullmatch(rest, at + 3)
        if m is None:
            raise self.error("malformed exemplar (want # {labels} value [timestamp])")
        try:
            parse_float(m[1], "exemplar value")
            ts = parse_float(m[2], "exemplar timestamp") if m[2] is not None else 0.0
        except ValueError as exc:
            raise self.error(str(exc)) from None
        if ts != ts or ts in (float("inf"), float("-inf")):
            raise self.error(f"invalid exemplar timestamp {m[2][:40]!r}")
        return rest[:at]
