"""``spreadsheets.batchUpdate`` bodies: each request encoded once, chunked, sent as bytes.

A write of thousands of requests (a heavy cycle moves ~5,000 rows: ~10 MB of JSON) had
each request encoded to size the chunks, again for a second chunking without the row
deletions, and the whole body once more by ``requests``; and the body went out
ASCII-escaped, six bytes for each CJK character. Here each request is encoded once, as
compact UTF-8 JSON (what Google accepts, and what the chunks are sized in); a chunk's body
is those bytes joined.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Google rejects request bodies above ~10 MB; staying under 2 MB keeps each call quick.
MAX_BODY_BYTES = 2_000_000

#: Requests are trees of fresh dicts and lists built by the request builders, never
#: cyclic: without the encoder's cycle check (an id kept per container) encoding a heavy
#: cycle's ~9 MB of requests takes ~20% less time.
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode
_FRAME = len(b'{"requests":[]}')


def encode(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (NaN refused, as ``requests`` refuses it)."""
    return _ENCODE(value).encode()


@dataclass(frozen=True)
class RequestChunk:
    """Consecutive requests of one call, with their encodings (parallel lists)."""

    requests: tuple[Mapping[str, Any], ...]
    encoded: tuple[bytes, ...]

    def plus(self, requests_: Sequence[Mapping[str, Any]]) -> RequestChunk:
        """This chunk with ``requests_`` appended (encoded here)."""
        return RequestChunk(
            (*self.requests, *requests_), (*self.encoded, *(encode(r) for r in requests_))
        )

    def body(self, extra: Mapping[str, Any] | None = None) -> bytes:
        """The call's JSON body: ``{"requests": [...]}`` plus the ``extra`` fields."""
        fields = b"".join(b"," + encode(k) + b":" + encode(v) for k, v in (extra or {}).items())
        return b'{"requests":[' + b",".join(self.encoded) + b"]" + fields + b"}"


def chunk_requests(
    requests_: Sequence[Mapping[str, Any]],
    limit: int = MAX_BODY_BYTES,
    encoded: Sequence[bytes] | None = None,
) -> list[RequestChunk]:
    """Consecutive chunks of ``requests_`` whose bodies stay under ``limit`` bytes (order
    kept; a single request larger than the limit is a chunk of its own). ``encoded``: the
    requests' encodings when the caller has them already."""
    codes = [encode(r) for r in requests_] if encoded is None else encoded
    out: list[tuple[list[Mapping[str, Any]], list[bytes]]] = []
    size = 0
    for req, code in zip(requests_, codes, strict=True):
        n = len(code) + 1  # the comma between items
        if out and size + n <= limit:
            out[-1][0].append(req)
            out[-1][1].append(code)
            size += n
        else:
            out.append(([req], [code]))
            size = n + _FRAME
    return [RequestChunk(tuple(reqs), tuple(codes)) for reqs, codes in out]
