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
    kept), each filled: a request of several rows that does not fit in what is left of
    a chunk is cut by rows (:func:`split_request`) and its first rows go there — so five
    history appends of 0.7 MB take two 2 MB calls, not three — and a request larger
    than the limit on its own is cut the same way (Google refuses any body above 10 MiB:
    an errors tab of 100,000 lines or a history append of long notes must not go as one
    request). A single row larger than the limit is a chunk of its own. ``encoded``: the
    requests' encodings when the caller has them already."""
    codes = [encode(r) for r in requests_] if encoded is None else encoded
    out: list[list[bytes]] = []
    size = 0  # the last chunk's body, in bytes
    for whole, whole_code in zip(requests_, codes, strict=True):
        request, code = whole, whole_code
        while True:
            room = limit - size - 1 if out else 0  # for one more request, after a comma
            if out and len(code) <= room:
                out[-1].append(code)
                size += len(code) + 1
                break
            cut = _leading_part(request, code, room) if room >= limit * _FILL_FROM else None
            if cut is None:  # a new call
                if len(code) + _FRAME > limit:  # too large for any call: cut to fill one
                    cut = _leading_part(request, code, limit - _FRAME)
                if cut is None:  # whole (a single row over the limit too: a call of its own)
                    out.append([code])
                    size = len(code) + _FRAME
                    break
                out.append([])
                size = _FRAME - 1  # its first request takes no comma
            head, (request, code) = cut
            out[-1].append(head)
            size += len(head) + 1
    return [RequestChunk(tuple(codes)) for codes in out]


#: A chunk is topped up with the first rows of a request that does not fit only when at
#: least this share of the limit is left (smaller cuts would only multiply requests).
_FILL_FROM = 0.05


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


def _leading_part(
    request: Mapping[str, Any], code: bytes, room: int
) -> tuple[bytes, tuple[Mapping[str, Any], bytes]] | None:
    """``request`` (encoded: ``code``) cut by rows into a first part whose encoding fits
    ``room`` bytes, and the rest (with its encoding); None when no cut fits (one row, or a
    request that cannot be cut). Rows being of similar sizes, the cut is placed by size
    and moved up until the first part fits."""
    name, body = next(iter(request.items()))
    rows = body.get("rows") if name in ("updateCells", "appendCells") else None
    if not isinstance(rows, list) or len(rows) < 2 or room <= 0:
        return None
    k = max(1, min(len(rows) - 1, len(rows) * room // len(code)))
    while k >= 1:
        parts = split_request(request, k)
        if len(parts) == 1:
            if name == "appendCells":
                return None  # no row with data above the cut: none above a higher one
            k -= 1  # the cut reached the end of the request's range
            continue
        head = encode(parts[0])
        if len(head) <= room:
            return head, (parts[1], encode(parts[1]))
        if k == 1:
            return None
        k = max(1, min(k - 1, k * room // len(head)))
    return None


def split_request(request: Mapping[str, Any], at: int | None = None) -> list[Mapping[str, Any]]:
    """An ``updateCells`` or ``appendCells`` of several rows as two requests that, sent
    in order, write exactly the same cells: the rows cut after the first ``at`` (default:
    halved), the second part's ``range`` or ``start`` moved down by the first part's rows
    (a ``range`` keeps its end, so rows it clears past the data are still cleared). An
    ``appendCells`` is cut after a row with data (nearer the top if need be: the second
    part goes below the last row *with data*). Any other request, one row, or a cut at
    no row, is returned as it is."""
    name, body = next(iter(request.items()))
    rows = body.get("rows") if name in ("updateCells", "appendCells") else None
    if not isinstance(rows, list) or len(rows) < 2:
        return [request]
    k = len(rows) // 2 if at is None else min(max(at, 0), len(rows) - 1)
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
