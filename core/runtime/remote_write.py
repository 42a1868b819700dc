"""Remote write 1.0 in: a snappy-compressed protobuf ``prometheus.WriteRequest`` to Pulse samples.

The message classes are built at start from a descriptor of the fields of Prometheus'
``prompb/remote.proto`` and ``prompb/types.proto`` that carry float samples (``WriteRequest.timeseries``,
``TimeSeries.labels/samples``, ``Label``, ``Sample``), through ``google.protobuf`` itself: there is no
protoc on these machines, and the wire decoding stays the maintained library's. Fields not declared
here (metadata, exemplars, native histograms) are skipped by protobuf as unknown fields. Snappy is
``cramjam``'s (block format, as remote write sends it).
"""

from __future__ import annotations

import functools
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from core.kernel.samples import Sample

NAME = "__name__"


class WriteRefused(Exception):
    """A request the sender must not retry: ``status`` (400 or 413) and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@functools.cache
def write_request_class() -> Any:
    """``prometheus.WriteRequest``, built once on first use."""
    fdp = descriptor_pb2.FileDescriptorProto(name="pulse_prompb.proto", package="prometheus", syntax="proto3")
    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED

    def msg(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = fdp.message_type.add(name=name)
        for fname, number, label, ftype, tname in fields:
            field = m.field.add(name=fname, number=number, label=label, type=ftype)
            if tname:
                field.type_name = tname

    msg("Label", ("name", 1, opt, f.TYPE_STRING, ""), ("value", 2, opt, f.TYPE_STRING, ""))
    msg("Sample", ("value", 1, opt, f.TYPE_DOUBLE, ""), ("timestamp", 2, opt, f.TYPE_INT64, ""))
    msg(
        "TimeSeries",
        ("labels", 1, rep, f.TYPE_MESSAGE, ".prometheus.Label"),
        ("samples", 2, rep, f.TYPE_MESSAGE, ".prometheus.Sample"),
    )
    msg("WriteRequest", ("timeseries", 1, rep, f.TYPE_MESSAGE, ".prometheus.TimeSeries"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


def decode(body: bytes, max_bytes: int, max_samples: int) -> list[Sample]:
    """The samples of a remote-write body, or WriteRefused with what is wrong with it."""
    try:  # the block's header says its decompressed length: checked before decompressing
        size = cramjam.snappy.decompress_raw_len(body) if body else 0
        if size > max_bytes:
            raise WriteRefused(413, f"decompressed body of {size} bytes is over the limit of {max_bytes}")
        raw = bytes(cramjam.snappy.decompress_raw(body)) if body else b""
    except cramjam.DecompressionError as exc:
        raise WriteRefused(400, f"body is not snappy (block format) compressed: {exc}") from None
    req = write_request_class()()
    try:
        req.ParseFromString(raw)
    except DecodeError as exc:
        raise WriteRefused(400, f"body is not a prometheus.WriteRequest protobuf: {exc}") from None
    total = sum(len(ts.samples) for ts in req.timeseries)
    if total > max_samples:
        raise WriteRefused(413, f"{total} samples in one request, over the limit of {max_samples}")
    out: list[Sample] = []
    for ts in req.timeseries:
        labels = {lb.name: lb.value for lb in ts.labels}
        metric = labels.pop(NAME, "")
        if not metric:
            raise WriteRefused(400, "a time series has no __name__ label")
        key = tuple(sorted((k, v) for k, v in labels.items() if v != ""))
        # stale markers (a target gone, a series no longer exposed) are kept, bits and all: PromQL
        # ends the series at the marker as Prometheus does; Pulse's own reads skip them
        out += [Sample(metric, key, int(s.timestamp), float(s.value)) for s in ts.samples]
    return out
