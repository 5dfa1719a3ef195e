"""Property tests through the real stack: what RAW writes, UNFORMATTED reads back."""

from __future__ import annotations

import itertools
from typing import Any

import gspread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.sandbox import SandboxServer

from .conftest import ROBOT

_ids = itertools.count()

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
)
grids = st.lists(st.lists(cells, max_size=6), max_size=8)


def _expected(grid: list[list[Any]]) -> list[list[Any]]:
    """What Google returns: '' for empties, integral floats as ints, trailing empties cut."""
    out = []
    for row in grid:
        line = []
        for v in row:
            if v is None or v == "":
                line.append("")
            elif isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
                line.append(int(v))
            else:
                line.append(v)
        while line and line[-1] == "":
            line.pop()
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids)
def test_raw_write_unformatted_read_round_trip(sandbox: SandboxServer, gc: gspread.Client,
                                               grid: list[list[Any]]) -> None:
    """Any grid of typed values written RAW reads back UNFORMATTED exactly (trimmed)."""
    sid = sandbox.create_spreadsheet(f"prop {next(_ids)}", ROBOT)
    client = gc.http_client
    # null means "leave unchanged" on write; the sheet is empty, so it reads back as ''.
    client.values_update(sid, "Sheet1!A1", params={"valueInputOption": "RAW"},
                         body={"values": grid})
    got = client.values_get(sid, "Sheet1!A1:Z100",
                            params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert got.get("values", []) == _expected(grid)
    typed = sandbox.values(sid, "Sheet1")
    assert [[("" if v is None else v) for v in row] for row in typed] == _expected(grid)
