"""The validated frame: the configured columns of a tab's non-blank rows, as Python objects."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
import pandas as pd

from syncer.model import CellValue, Table


def _blank(row: tuple[CellValue, ...]) -> bool:
    for value in row:
        if value is None or (value.__class__ is str and not value.strip()):
            continue
        return False
    return True


def kept_rows(rows: Sequence[tuple[CellValue, ...]]) -> list[int] | None:
    """Indexes of the rows that are not blank, or None when every row is kept.

    A row whose first cell is filled is not blank; only the others are checked cell by
    cell, so the cost of the common case is one look at each row's first cell.
    """
    suspects = [
        i
        for i, row in enumerate(rows)
        if not row or (first := row[0]) is None or (first.__class__ is str and not first.strip())
    ]
    blank = {i for i in suspects if _blank(rows[i])}
    if not blank:
        return None
    return [i for i in range(len(rows)) if i not in blank]


def build_frame(table: Table, columns: list[str], keep: list[int] | None) -> pd.DataFrame:
    """The configured columns of the kept rows, as Python objects, indexed by data row.

    The grid is filled from one flat iterator over the cells (no per-row Python work
    when the rows are as wide as the grid, the usual case).
    """
    positions = [table.index_of(c) for c in columns]
    width = max(p for p in positions if p is not None) + 1
    source: Sequence[tuple[CellValue, ...]] = (
        table.rows if keep is None else [table.rows[i] for i in keep]
    )
    if set(map(len, source)) != {width}:
        pad = (None,) * width
        source = [r if len(r) == width else (r + pad)[:width] for r in source]
    grid = np.fromiter(chain.from_iterable(source), dtype=object, count=len(source) * width)
    grid = grid.reshape(len(source), width)
    named = [(c, p) for c, p in zip(columns, positions, strict=True) if p is not None]
    picks = [p for _c, p in named]
    block = grid if picks == list(range(width)) else grid[:, picks]
    index = pd.RangeIndex(len(source)) if keep is None else pd.Index(keep)
    return pd.DataFrame(
        block, index=index, columns=[c for c, _p in named], dtype=object, copy=False
    )
