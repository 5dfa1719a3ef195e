"""``spreadsheets.batchUpdate`` bodies: each request encoded once, chunked, sent as bytes.

A write of thousands of requests (a heavy cycle moves ~5,000 rows: ~10 MB of JSON) had
each request encoded to size the chunks, again for a second chunking without the row
deletions, and the whole body once more by ``requests``; and the body went out
ASCII-escaped, six bytes for each CJK character. Here each request is encoded once, as
compact UTF-8 JSON (what Google accepts, and what the chunks are sized in), by orjson
(~6x faster than ``json`` on these bodies); a chunk's body is those bytes joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncer import jsoncodec

#: Google rejects request bodies above ~10 MB; staying under 2 MB keeps each call quick.
MAX_BODY_BYTES = 2_000_000

_FRAME = len(b'{"requests":[]}')


def encode(value: Any) -> bytes:
    """``value`` as compact JSON (:func:`syncer.jsoncodec.dumps`). No NaN reaches here:
    :func:`~syncer.connectors.google.cells.cell_data` refuses it."""
    return jsoncodec.dumps(value)


@dataclass(frozen=True)
class RequestChunk:
    """Consecutive requests of one call, encoded (all a call needs of them: a write of
    thousands of requests keeps megabytes of bytes, not millions of small objects)."""

    encoded: tuple[bytes, ...]

    def plus(self, requests_: Sequence[Mapping[str, Any]]) -> RequestChunk:
        """This chunk with ``requests_`` appended (encoded here)."""
        return RequestChunk((*self.encoded, *(encode(r) for r in requests_)))

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
    kept). A request larger than the limit on its own is first cut by rows
    (:func:`split_request`) — Google refuses any body above 10 MiB, so an errors tab of
    100,000 lines or a history append of long notes must not go as one request — and
    a single row larger than the limit is a chunk of its own. ``encoded``: the requests'
    encodings when the caller has them already."""
    codes = [encode(r) for r in requests_] if encoded is None else encoded
    out: list[list[bytes]] = []
    size = 0
    for whole, whole_code in zip(requests_, codes, strict=True):
        parts = [whole_code]
        if len(whole_code) + _FRAME > limit:
            parts = _within(whole, whole_code, limit)
        for code in parts:
            n = len(code) + 1  # the comma between items
            if out and size + n <= limit:
                out[-1].append(code)
                size += n
            else:
                out.append([code])
                size = n + _FRAME
    return [RequestChunk(tuple(codes)) for codes in out]


def write_chunks(
    requests_: Sequence[Mapping[str, Any]],
    deletions: Sequence[Mapping[str, Any]],
    limit: int = MAX_BODY_BYTES,
) -> tuple[list[RequestChunk], bool]:
    """A write's calls: ``requests_`` then the row ``deletions``, chunked under ``limit``
    (each request encoded once); and whether the deletions wait (True when the whole
    needs several calls and has deletions: the chunks are then the requests alone, and
    the deletions are re-located after them; see
    :meth:`~syncer.connectors.google.GoogleSheetsConnector.write`)."""
    everything = [*requests_, *deletions]
    encoded = [encode(r) for r in everything]
    chunks = chunk_requests(everything, limit, encoded)
    if len(chunks) > 1 and deletions:
        return chunk_requests(requests_, limit, encoded[: len(requests_)]), True
    return chunks, False


def _within(request: Mapping[str, Any], code: bytes, limit: int) -> list[bytes]:
    """The encodings of ``request`` (encoded: ``code``) cut by rows until each part's
    body fits ``limit`` (or is one row)."""
    if len(code) + _FRAME <= limit:
        return [code]
    halves = split_request(request)
    if len(halves) == 1:
        return [code]
    return [part for half in halves for part in _within(half, encode(half), limit)]


def split_request(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An ``updateCells`` or ``appendCells`` of several rows as two requests that, sent
    in order, write exactly the same cells: the rows halved, the second half's ``range``
    or ``start`` moved down by the first half's rows (a ``range`` keeps its end, so rows
    it clears past the data are still cleared). Any other request, or one row, is
    returned as it is."""
    name, body = next(iter(request.items()))
    rows = body.get("rows") if name in ("updateCells", "appendCells") else None
    if not isinstance(rows, list) or len(rows) < 2:
        return [request]
    k = len(rows) // 2
    if name == "appendCells":  # the second half goes below the last row *with data*
        k = next((i for i in range(k, 0, -1) if _has_value(rows[i - 1])), 0)
    grid = body.get("range") if name == "updateCells" else None
    start = grid.get("startRowIndex", 0) if grid is not None else 0
    if k == 0 or (grid is not None and start + k >= grid.get("endRowIndex", start + k + 1)):
        return [request]
    if name == "updateCells" and grid is None and "start" not in body:
        return [request]
    first, second = dict(body, rows=rows[:k]), dict(body, rows=rows[k:])
    if grid is not None:
        first["range"] = dict(grid, startRowIndex=start, endRowIndex=start + k)
        second["range"] = dict(grid, startRowIndex=start + k)
    elif name == "updateCells":
        anchor = body["start"]
        second["start"] = dict(anchor, rowIndex=anchor.get("rowIndex", 0) + k)
    return [{name: first}, {name: second}]


def _has_value(row: Mapping[str, Any]) -> bool:
    """True when a ``RowData`` writes a value into some cell (empty text is no value:
    Sheets keeps the cell empty)."""
    return any(
        v not in ("", None)
        for cell in row.get("values", ())
        for v in (cell.get("userEnteredValue") or {}).values()
    )
