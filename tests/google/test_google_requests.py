"""Pure translation of a guarded plan into Sheets request bodies."""

from __future__ import annotations

import itertools
import json
import random
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.connectors.google.bodies import (
    RequestChunk,
    chunk_requests,
    encode,
    split_request,
    write_chunks,
)
from syncer.connectors.google.builders import (
    APPEND_ROWS,
    SheetMeta,
    build_writes,
    deletion_requests,
    row_spans,
    spreadsheet_id,
)
from syncer.connectors.google.cells import cell_data
from syncer.connectors.google.read import fresh_table, parse_cell, value_ranges
from syncer.errors import ConfigError
from syncer.guard import Resolved
from syncer.model import MoveRow, ReplaceTab, RowRef, SetCell, Snapshot, Table
from syncer.sandbox.batch_update import batch_update
from syncer.sandbox.state import Sheet, Workbook

MAIN = Table(
    "Main",
    1,
    ("id", "name", "status", "note"),
    (("A1", "x", "lost"), ("A2", "y", "ok"), ("A3", "z", "lost")),
)
HIST = Table("History", 1, ("id", "name", "status"), ())
META = {
    "Main": SheetMeta(0, "Main", 100, 4),
    "History": SheetMeta(7, "History", 100, 3),
    "Errors": SheetMeta(9, "Errors", 10, 3),
}
FRESH = Snapshot({"Main": MAIN, "History": HIST})


def ref(i: int) -> RowRef:
    return RowRef(key=str(MAIN.rows[i][0]), row=MAIN.sheet_row(i))


def test_spreadsheet_id_from_id_or_url() -> None:
    """A ledger may name its spreadsheet by id or by URL."""
    sid = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
    assert spreadsheet_id(sid) == sid
    assert spreadsheet_id(f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0") == sid
    with pytest.raises(ConfigError):
        spreadsheet_id("https://example.com/not/a/sheet")


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+86 138", "-3", "@here", "2024-01-05"])
def test_text_is_sent_as_string_value(text: str) -> None:
    """User text is a stringValue, so formulas/numbers/dates are never parsed from it."""
    assert cell_data(text) == {"userEnteredValue": {"stringValue": text}}


def test_typed_values() -> None:
    """Numbers, booleans and dates are typed; dates as serials with a date format."""
    assert cell_data(13812345678) == {"userEnteredValue": {"numberValue": 13812345678}}
    assert cell_data(True) == {"userEnteredValue": {"boolValue": True}}
    d = cell_data(date(2024, 1, 1))
    assert d["userEnteredValue"] == {"numberValue": 45292.0}
    assert d["userEnteredFormat"]["numberFormat"]["pattern"] == "yyyy-mm-dd"
    dt = cell_data(datetime(2024, 1, 1, 12, 0))
    assert dt["userEnteredValue"] == {"numberValue": 45292.5}
    assert cell_data(None) == {}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_carry_is_refused_not_written_empty(value: float) -> None:
    """NaN and the infinities are refused (the encoder would write them as null, which
    clears the cell) rather than sent."""
    with pytest.raises(ValueError, match="not a finite number"):
        cell_data(value)


def test_an_integer_beyond_64_bits_goes_as_the_double_google_keeps() -> None:
    """A huge integer is sent as the double Google stores for it, so the request encodes
    (the encoder takes 64-bit integers only) and the cell reads back the same."""
    huge = 123456789012345678901234567890
    assert cell_data(huge) == {"userEnteredValue": {"numberValue": float(huge)}}
    assert json.loads(RequestChunk(()).plus([cell_data(huge)]).body()) == {
        "requests": [{"userEnteredValue": {"numberValue": float(huge)}}]
    }
    assert cell_data(2**63 - 1) == {"userEnteredValue": {"numberValue": 2**63 - 1}}


def test_parse_cell_empty_and_typed() -> None:
    """Empty strings read as None; numbers stay numbers."""
    assert parse_cell("") is None
    assert parse_cell(13812345678) == 13812345678
    assert parse_cell("文本") == "文本"


def test_row_spans_merge_and_limit() -> None:
    """Adjacent rows merge into spans; too many spans means read the whole tab."""
    assert row_spans([5, 3, 4, 9]) == [(3, 5), (9, 9)]
    assert row_spans(range(0, 100, 2), max_spans=10) is None


def test_cell_writes_precede_appends_and_deletions_bottom_up() -> None:
    """Cells are written before history appends, and rows are deleted bottom-up."""
    kept = [
        Resolved(
            MoveRow(
                "Main",
                ref(0),
                "History",
                (("id", "A1"), ("name", "x"), ("status", "lost")),
                "lost",
                "archive",
            ),
            0,
        ),
        Resolved(SetCell("Main", ref(1), "note", "=bad", None, "annotate"), 1),
        Resolved(
            MoveRow(
                "Main",
                ref(2),
                "History",
                (("id", "A3"), ("name", "z"), ("status", "lost")),
                "lost",
                "archive",
            ),
            2,
        ),
    ]
    batch = build_writes(kept, FRESH, META, FRESH)
    sent = [*batch.requests, *batch.removal_requests()]
    kinds = [next(iter(r)) for r in sent]
    assert kinds == ["updateCells", "appendCells", "deleteDimension", "deleteDimension"]
    cell = sent[0]["updateCells"]
    assert cell["start"] == {"sheetId": 0, "rowIndex": 2, "columnIndex": 3}
    assert cell["rows"][0]["values"][0]["userEnteredValue"] == {"stringValue": "=bad"}
    starts = [r["deleteDimension"]["range"]["startIndex"] for r in sent[2:]]
    assert starts == [3, 1]  # bottom-up: the lower row goes first
    assert len(batch.applied) == 3
    append = sent[1]["appendCells"]
    assert append["sheetId"] == 7
    ids = [row["values"][0]["userEnteredValue"]["stringValue"] for row in append["rows"]]
    assert ids == ["A1", "A3"]  # one appendCells per history tab, rows in plan order


def test_adjacent_removals_merge_into_one_range() -> None:
    """Archiving neighbouring rows sends one deleteDimension over the span."""
    kept = [
        Resolved(MoveRow("Main", ref(i), "History", (("id", f"A{i + 1}"),), "r", "a"), i)
        for i in (0, 1, 2)
    ]
    batch = build_writes(kept, FRESH, META, FRESH)
    ranges = [r["deleteDimension"]["range"] for r in batch.removal_requests()]
    assert [(r["startIndex"], r["endIndex"]) for r in ranges] == [(1, 4)]


def test_missing_history_tab_is_requested_first() -> None:
    """A move to a tab that does not exist asks for the tab before any request."""
    meta = {"Main": META["Main"]}
    kept = [Resolved(MoveRow("Main", ref(0), "Old", (("id", "A1"),), "lost", "archive"), 0)]
    batch = build_writes(kept, Snapshot({"Main": MAIN}), meta, FRESH)
    assert batch.new_tabs == {"Old": ("id",)}
    assert batch.requests == []


def test_new_column_grows_the_grid() -> None:
    """Writing past the grid's last column appends columns first."""
    meta = {"Main": SheetMeta(0, "Main", 100, 3)}
    kept = [Resolved(SetCell("Main", ref(0), "note", "hi", None, "annotate"), 0)]
    batch = build_writes(kept, FRESH, meta, FRESH)
    assert batch.requests[0] == {
        "appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 1}
    }


def test_error_tab_replaced_only_when_changed() -> None:
    """An unchanged errors tab produces no request; a changed one one updateCells."""
    rows = (("tab", "row", "problem"), ("Main", 2, "missing phone"))
    errors = Table("Errors", 1, rows[0], (rows[1],))
    snap = Snapshot({"Main": MAIN, "Errors": errors})
    op = ReplaceTab("Errors", rows, "errors")
    same = build_writes([Resolved(op, None)], snap, META, snap)
    assert same.requests == []
    assert same.applied == [op]
    changed = ReplaceTab("Errors", (*rows, ("Main", 3, "bad date")), "errors")
    batch = build_writes([Resolved(changed, None)], snap, META, snap)
    assert [next(iter(r)) for r in batch.requests] == ["updateCells"]
    rng = batch.requests[0]["updateCells"]["range"]
    assert (rng["sheetId"], rng["endRowIndex"]) == (9, 10)


def test_removed_column_drops_the_write() -> None:
    """A SetCell whose column is gone from the fresh header is dropped, not misplaced."""
    fresh = Snapshot({"Main": Table("Main", 1, ("id", "name"), MAIN.rows)})
    kept = [Resolved(SetCell("Main", ref(0), "status", "x", "lost", "r"), 0)]
    batch = build_writes(kept, fresh, META, FRESH)
    assert batch.requests == []
    assert "status" in batch.dropped[0].reason


def sent(chunk: RequestChunk) -> list[Any]:
    """The requests a chunk's call sends (its body decoded)."""
    return list(json.loads(chunk.body())["requests"])


@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=60), st.integers(400, 5000))
def test_chunks_keep_order_and_stay_under_limit(texts: list[str], limit: int) -> None:
    """Chunks concatenate back to the input and each stays under the byte limit."""
    reqs = [{"updateCells": {"rows": [{"values": [cell_data(t)]}]}} for t in texts]
    chunks = chunk_requests(reqs, limit)
    assert [r for c in chunks for r in sent(c)] == reqs
    for chunk in chunks:
        if len(chunk.encoded) > 1:
            assert len(chunk.body()) <= limit


_CELL = st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 5))
_ROWS = st.lists(st.lists(_CELL, max_size=4), min_size=1, max_size=12)


def _grid(seed: int) -> Workbook:
    rng = random.Random(seed)
    sheet = Sheet(0, "Errors", row_count=30, column_count=5)
    for r in range(rng.randrange(30)):
        for c in range(5):
            if rng.random() < 0.6:
                sheet.set_raw(r, c, f"old{r}.{c}")
    return Workbook("sid", "t", "o@example.com", 0.0, 0.0, sheets=[sheet])


@given(
    _ROWS,
    st.sampled_from(["range", "start", "append"]),
    st.integers(0, 6),
    st.integers(0, 10),
    st.integers(0, 3),
)
def test_a_request_cut_by_rows_writes_the_same_cells(
    rows: list[list[Any]], anchor: str, first: int, extra: int, seed: int
) -> None:
    """Applied in order in the sandbox, the halves :func:`split_request` makes of an
    updateCells (by range, clearing past its rows, or by start) or an appendCells leave
    the sheet exactly as the whole request does; and they cut again until one row."""
    data = [{"values": [cell_data(v) for v in row]} for row in rows]
    body: dict[str, Any] = {"rows": data, "fields": "userEnteredValue"}
    if anchor == "range":
        end = min(first + len(rows) + extra, 30)
        if end < first + len(rows):
            return
        body["range"] = {
            "sheetId": 0,
            "startRowIndex": first,
            "endRowIndex": end,
            "startColumnIndex": 0,
            "endColumnIndex": 5,
        }
        whole = {"updateCells": body}
    elif anchor == "start":
        body["start"] = {"sheetId": 0, "rowIndex": first, "columnIndex": 1}
        whole = {"updateCells": body}
    else:
        whole = {"appendCells": dict(body, sheetId=0)}
    parts = [whole]
    while any(len(split_request(r)) > 1 for r in parts):
        parts = [q for r in parts for q in split_request(r)]
    expected, _ = batch_update(_grid(seed), {"requests": [whole]}, random.Random(0))
    got, _ = batch_update(_grid(seed), {"requests": parts}, random.Random(0))
    assert got.sheets[0].typed() == expected.sheets[0].typed()
    assert got.sheets[0].row_count == expected.sheets[0].row_count
    if anchor != "append" or all(any(v not in ("", None) for v in r) for r in rows):
        assert len(parts) == len(rows)


_PIECE = st.tuples(st.sampled_from(["range", "start", "append", "one"]), _ROWS, st.integers(0, 8))


@settings(max_examples=150)
@given(st.lists(_PIECE, min_size=1, max_size=6), st.integers(250, 2500), st.integers(0, 3))
def test_chunks_are_filled_with_cut_requests_that_write_the_same_cells(
    pieces: list[tuple[str, list[list[Any]], int]], limit: int, seed: int
) -> None:
    """Whatever mix of multi-row updateCells (by range or start), appendCells and one-cell
    requests, chunked under any limit: applied call after call in the sandbox, the chunks
    leave the sheet exactly as the requests do; every chunk holding several requests stays
    under the limit; and no chunk leaves room a cut of the next request would have used."""
    reqs: list[dict[str, Any]] = []
    for kind, rows, first in pieces:
        data = [{"values": [cell_data(v) for v in row]} for row in rows]
        body: dict[str, Any] = {"rows": data, "fields": "userEnteredValue"}
        if kind == "range":
            end = min(first + len(rows) + 2, 30)
            body["range"] = {"sheetId": 0, "startRowIndex": min(first, end - len(rows)),
                             "endRowIndex": end, "startColumnIndex": 0, "endColumnIndex": 5}
            reqs.append({"updateCells": body})
        elif kind == "start":
            body["start"] = {"sheetId": 0, "rowIndex": first, "columnIndex": 1}
            reqs.append({"updateCells": body})
        elif kind == "append":
            reqs.append({"appendCells": dict(body, sheetId=0)})
        else:
            reqs.append({"updateCells": {"rows": data[:1], "fields": "userEnteredValue",
                                         "start": {"sheetId": 0, "rowIndex": first}}})
    chunks = chunk_requests(reqs, limit)
    expected, _ = batch_update(_grid(seed), {"requests": reqs}, random.Random(0))
    got = _grid(seed)
    for chunk in chunks:
        got, _ = batch_update(got, {"requests": sent(chunk)}, random.Random(0))
    assert got.sheets[0].typed() == expected.sheets[0].typed()
    assert got.sheets[0].row_count == expected.sheets[0].row_count
    for chunk in chunks:
        assert len(chunk.encoded) == 1 or len(chunk.body()) <= limit
    for chunk, after in pairwise(chunks):
        room = limit - len(chunk.body()) - 1
        nxt = sent(after)[0]
        if room >= limit * 0.05 and len(split_request(nxt)) > 1:
            smallest = split_request(nxt, 1)
            assert len(smallest) == 1 or len(encode(smallest[0])) > room


def test_a_request_over_the_limit_goes_in_parts_that_fit() -> None:
    """An errors-tab rewrite larger than the body limit is cut by rows into chunks that
    each fit, in order; a lone row over the limit is still sent, as its own chunk."""
    rows = [{"values": [cell_data(f"line {i} " + "x" * 200)]} for i in range(400)]
    whole = {
        "updateCells": {
            "range": {"sheetId": 9, "startRowIndex": 0, "endRowIndex": 500},
            "rows": rows,
            "fields": "userEnteredValue",
        }
    }
    chunks = chunk_requests([{"deleteProtectedRange": {"protectedRangeId": 1}}, whole], 20_000)
    assert len(chunks) > 4
    assert all(len(c.body()) <= 20_000 for c in chunks)
    parts = [r for c in chunks for r in sent(c)][1:]
    assert [row for r in parts for row in r["updateCells"]["rows"]] == rows
    grids = [r["updateCells"]["range"] for r in parts]
    assert grids[0]["startRowIndex"] == 0
    assert grids[-1]["endRowIndex"] == 500
    assert all(a["endRowIndex"] == b["startRowIndex"] for a, b in itertools.pairwise(grids))
    (lone,) = chunk_requests([{"appendCells": {"sheetId": 9, "rows": rows[:1]}}], 100)
    assert len(lone.encoded) == 1


@given(st.lists(st.text(max_size=40), max_size=8), st.dictionaries(st.text(max_size=8), st.text()))
def test_a_chunks_body_is_its_requests_and_extra_fields(texts: list[str], extra: dict) -> None:
    """A chunk's body (joined from encodings made once) parses back to its requests
    plus the extra fields, and text goes out as UTF-8, not escaped."""
    reqs = [{"updateCells": {"rows": [{"values": [cell_data(t)]}]}} for t in texts]
    extra = {k: v for k, v in extra.items() if k != "requests"}
    (chunk,) = chunk_requests(reqs, 10**9) or [RequestChunk(())]
    unlock = {"deleteProtectedRange": {"protectedRangeId": 7}}
    more = chunk.plus([unlock])
    assert json.loads(more.body(extra)) == {"requests": [*reqs, unlock], **extra}


@given(st.integers(0, 30), st.integers(0, 6), st.integers(300, 3000))
def test_deletions_wait_exactly_when_the_write_needs_several_calls(
    cells: int, deletions: int, limit: int
) -> None:
    """A write that fits one call sends its requests then its deletions in it; one that
    needs several and has deletions sends its requests alone (the deletions are
    re-located after them); either way every request goes once, in order."""
    reqs = [{"updateCells": {"rows": [{"values": [cell_data(f"v{i}")]}]}} for i in range(cells)]
    dels = deletion_requests((0, 10 + i) for i in range(deletions))
    chunks, relocate = write_chunks(reqs, dels, limit)
    together = chunk_requests([*reqs, *dels], limit)
    assert relocate == (len(together) > 1 and bool(dels))
    assert [r for c in chunks for r in sent(c)] == (reqs if relocate else [*reqs, *dels])


def test_bodies_carry_text_as_utf8() -> None:
    """CJK text goes out as UTF-8 (3 bytes a character), not as \\u escapes (6)."""
    (chunk,) = chunk_requests([{"updateCells": {"rows": [{"values": [cell_data("客户")]}]}}])
    assert "客户".encode() in chunk.body()
    assert b"\\u" not in chunk.body()


def test_fresh_table_trusts_only_reread_rows() -> None:
    """Rows read in full are complete; other rows carry only their key."""
    table = fresh_table("Main", 1, ["id", "name"], 0, [["A1"], ["A2"], ["A3"]], {3: ["A2", "y"]}, 0)
    assert table.rows == (("A1",), ("A2", "y"), ("A3",))
    assert table.find_key("id", "A2") == [1]


def _response(status: int, body: dict[str, object], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def test_google_error_bodies_are_classified() -> None:
    """Google's JSON error bodies map to the policy's kinds, with Retry-After kept."""
    from gspread.exceptions import APIError

    from syncer.connectors.google.transport import failure_of

    quota = APIError(
        _response(
            429,
            {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
            {"Retry-After": "7"},
        )
    )
    denied = APIError(
        _response(403, {"error": {"code": 403, "message": "no", "status": "PERMISSION_DENIED"}})
    )
    limited = APIError(
        _response(
            403,
            {
                "error": {
                    "code": 403,
                    "message": "slow down",
                    "status": "PERMISSION_DENIED",
                    "errors": [{"reason": "rateLimitExceeded"}],
                }
            },
        )
    )
    assert (failure_of(quota).kind, failure_of(quota).retry_after) == ("transient", 7.0)
    assert failure_of(denied).kind == "permission"
    assert failure_of(limited).kind == "transient"


@pytest.mark.parametrize(
    ("method", "url", "name"),
    [
        (
            "get",
            "https://sheets.googleapis.com/v4/spreadsheets/x/values:batchGet",
            "values.batchGet",
        ),
        (
            "post",
            "https://sheets.googleapis.com/v4/spreadsheets/x:batchUpdate",
            "spreadsheets.batchUpdate",
        ),
        (
            "post",
            "https://sheets.googleapis.com/v4/spreadsheets/x/values:batchGetByDataFilter",
            "values.batchGetByDataFilter",
        ),
        ("get", "https://sheets.googleapis.com/v4/spreadsheets/x", "spreadsheets.get"),
        ("get", "https://www.googleapis.com/drive/v3/files/x", "drive.files.get"),
        ("get", "https://www.googleapis.com/drive/v3/files/x/export", "drive.files.export"),
    ],
)
def test_calls_are_named_by_api_method(method: str, url: str, name: str) -> None:
    """Call counters use the API method's name."""
    from syncer.connectors.google.transport import call_name

    assert call_name(method, url) == name


@given(st.sets(st.integers(0, 39), min_size=1, max_size=40))
def test_removals_cover_exactly_the_moved_rows_bottom_up(moved: set[int]) -> None:
    """For any set of archived rows, deletions are bottom-up, disjoint and remove exactly
    those rows — so no deletion shifts a row another one still addresses."""
    rows = tuple((f"K{i}", f"n{i}", "lost") for i in range(40))
    main = Table("Main", 1, ("id", "name", "status"), rows)
    snap = Snapshot({"Main": main, "History": HIST})
    kept = [
        Resolved(
            MoveRow(
                "Main",
                RowRef(f"K{i}", main.sheet_row(i)),
                "History",
                (("id", f"K{i}"),),
                "lost",
                "archive",
            ),
            i,
        )
        for i in sorted(moved)
    ]
    meta = {"Main": SheetMeta(0, "Main", 100, 3), "History": SheetMeta(7, "History", 100, 3)}
    batch = build_writes(kept, snap, meta, snap)
    sent = [*batch.requests, *batch.removal_requests()]
    ranges = [
        (r["deleteDimension"]["range"]["startIndex"], r["deleteDimension"]["range"]["endIndex"])
        for r in sent
        if "deleteDimension" in r
    ]
    starts = [s for s, _ in ranges]
    assert starts == sorted(starts, reverse=True)
    deleted = [row for s, e in ranges for row in range(s, e)]
    assert sorted(deleted) == sorted(main.sheet_row(i) - 1 for i in moved)
    kinds = [next(iter(r)) for r in sent]
    assert kinds.index("deleteDimension") > max(
        i for i, k in enumerate(kinds) if k == "appendCells"
    )


def test_history_rows_are_appended_in_groups_in_plan_order() -> None:
    """Many archived rows become few appendCells of at most APPEND_ROWS rows, order kept."""
    n = APPEND_ROWS * 2 + 1
    rows = tuple((f"K{i}", "x", "lost") for i in range(n))
    main = Table("Main", 1, ("id", "name", "status"), rows)
    snap = Snapshot({"Main": main, "History": HIST})
    kept = [
        Resolved(
            MoveRow(
                "Main",
                RowRef(f"K{i}", main.sheet_row(i)),
                "History",
                (("id", f"K{i}"), ("name", "x")),
                "lost",
                "archive",
            ),
            i,
        )
        for i in range(n)
    ]
    meta = {"Main": SheetMeta(0, "Main", n + 1, 3), "History": SheetMeta(7, "History", 100, 3)}
    batch = build_writes(kept, snap, meta, snap)
    appends = [r["appendCells"] for r in batch.requests if "appendCells" in r]
    assert [len(a["rows"]) for a in appends] == [APPEND_ROWS, APPEND_ROWS, 1]
    ids = [
        row["values"][0]["userEnteredValue"]["stringValue"] for a in appends for row in a["rows"]
    ]
    assert ids == [f"K{i}" for i in range(n)]


def test_value_ranges_flag_booleans_only_when_a_literal_could_be_one() -> None:
    """``booleans`` is False only for an answer without a true/false literal; a text
    holding the word leaves it unknown (a hint that may only spare a scan)."""

    def body(values: list[list[object]]) -> bytes:
        return json.dumps({"valueRanges": [{"range": "A1:B2", "values": values}]}).encode()

    plain = value_ranges(body([["a", 1], ["b", 2.5]]))
    assert plain == [[["a", 1], ["b", 2.5]]]
    assert plain.booleans is False
    assert value_ranges(body([["a", True]])).booleans is None
    assert value_ranges(body([["it is true", 1]])).booleans is None
    assert value_ranges(b'{"valueRanges": [{"range": "A1"}]}') == [[]]
