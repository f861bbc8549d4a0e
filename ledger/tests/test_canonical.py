"""Canonical JSON: one value, one byte string."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical_json


def test_known_encoding() -> None:
    value = {"b": [1, True, None], "a": "é€😀", "c": {"y": 2, "x": -1.5}}
    assert canonical_json(value) == '{"a":"é€😀","b":[1,true,null],"c":{"x":-1.5,"y":2}}'.encode()


def test_key_order_does_not_matter() -> None:
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"x": math.nan}, "/x"),
        ({"x": [math.inf]}, "/x/0"),
        ({1: "a"}, ""),
        ({"x": {None: 1}}, "/x"),
        ({"x": b"bytes"}, "/x"),
        ({"x": {1, 2}}, "/x"),
        ({"x": "\ud800"}, "/x"),  # a lone surrogate cannot be UTF-8
    ],
)
def test_unrepresentable_values_are_refused(value: object, path: str) -> None:
    with pytest.raises(CanonicalJSONError) as caught:
        canonical_json(value)
    assert caught.value.path == path


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # insignificant whitespace
        b'{"a":"\\u00e9"}',  # escaped non-ASCII
        b'{"a":1,"a":1}',  # duplicate key
        b'{"a":NaN}',
        b'{"a":1e2}',  # 100.0 is written 100.0
        b"\xff",
        b"{",
    ],
)
def test_non_canonical_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_canonical_json(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None, database=None)
@given(value=json_values)
def test_round_trip(value: object) -> None:
    data = canonical_json(value)
    assert parse_canonical_json(data) == value
    assert canonical_json(parse_canonical_json(data)) == data
