"""The pandera glue: a ledger's column specs become one ``pandera.DataFrameSchema``.

Each check only looks up answers a :class:`~syncer.validate.column_view.ColumnView` (or the
shared :class:`~syncer.validate.duplicates.Uniques`) computes once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pandera.pandas as pa

from syncer.ledger import LedgerConfig
from syncer.validate.column_view import ColumnView
from syncer.validate.duplicates import Uniques


def _check(name: str, fn: Callable[[pd.Series], pd.Series]) -> pa.Check:
    return pa.Check(lambda s: fn(s), name=name, ignore_na=False)


def build_schema(
    ledger: LedgerConfig,
    views: dict[str, ColumnView],
    uniques: Uniques | None = None,
    *,
    uniqueness: bool = True,
) -> pa.DataFrameSchema:
    """The pandera schema of the columns in ``views`` (their checks read the views).

    ``uniqueness=False`` leaves out the ``unique`` and ``unique_together`` checks: the
    schema then checks each row on its own values only (the incremental validation
    checks changed rows so, and duplicates over the whole column)."""
    shared = uniques if uniques is not None else Uniques(views)
    columns: dict[str, pa.Column] = {}
    for name, view in views.items():
        columns[name] = pa.Column(
            dtype=None,
            checks=_column_checks(view, shared, uniqueness),
            nullable=True,
            required=False,
            name=name,
        )
    frame_checks = [
        _check(f"unique_together:{g}", _together_check(shared, tuple(group)))
        for g, group in enumerate(ledger.unique_together)
        if uniqueness and all(c in views for c in group)
    ]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False)


def _column_checks(view: ColumnView, uniques: Uniques, uniqueness: bool) -> list[pa.Check]:
    spec = view.spec
    checks: list[pa.Check] = []
    if spec.required:
        checks.append(_check("required", lambda _s: view.filled))
    if spec.type == "choice":
        checks.append(_check("choice_spaces", lambda _s: ~view.spaced))
        checks.append(_check("choice", lambda _s: view.valid_type() | view.spaced))
    elif spec.type != "text":
        checks.append(_check(spec.type, lambda _s: view.valid_type()))
    if spec.pattern is not None:
        pattern = re.compile(spec.pattern)
        checks.append(
            _check(
                "pattern",
                lambda _s: view.as_series(view.text_matches(pattern) | view.empty_mask),
            )
        )
    if spec.max_length is not None:
        limit = spec.max_length
        checks.append(_check("max_length", lambda _s: view.as_series(view.text_lengths() <= limit)))
    if spec.type in ("integer", "number"):
        if spec.min is not None:
            low = spec.min
            checks.append(_check("min", lambda _s: ~(view.numbers < low)))
        if spec.max is not None:
            high = spec.max
            checks.append(_check("max", lambda _s: ~(view.numbers > high)))
    if spec.unique and uniqueness:
        name = view.values.name
        checks.append(_check("unique", lambda _s: uniques.ok((str(name),))))
    return checks


def _together_check(uniques: Uniques, group: tuple[str, ...]) -> Callable[[pd.Series], pd.Series]:
    return lambda _frame: uniques.ok(group)
