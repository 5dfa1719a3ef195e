"""syncer.jsoncodec: orjson's speed, json's reach."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer import jsoncodec

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
def test_any_value_round_trips_including_what_orjson_refuses(value: Any) -> None:
    """Every JSON value is encoded to what it was: lone surrogates (any text) and
    integers beyond 64 bits included, which orjson alone refuses."""
    assert json.loads(jsoncodec.dumps(value)) == value


@pytest.mark.parametrize("value", ["lone \ud800", ["a", {"b": "\udc00"}]])
def test_a_lone_surrogate_goes_as_ascii_and_comes_back(value: Any) -> None:
    """A text orjson cannot encode is written as ASCII JSON and decoded back as it was."""
    body = jsoncodec.dumps(value)
    assert body.isascii()
    assert jsoncodec.loads(body) == value
