"""Canonical JSON bytes for ledger entries.

An entry's leaf hash is computed over these exact bytes, so the encoding must be
a pure function of the value: keys sorted by code point, no insignificant
whitespace (separators "," and ":"), non-ASCII characters written as UTF-8
rather than escaped, and nothing that JSON cannot represent faithfully.

What is refused, with :class:`CanonicalJSONError`:

- NaN and the infinities (not JSON; ``json`` would write ``NaN`` by default);
- non-``str`` object keys (``json`` would silently turn ``1`` into ``"1"``,
  so two different values could encode to the same bytes);
- values of types JSON has no notation for (``bytes``, ``datetime``, ``set``...);
- strings that are not valid Unicode (lone surrogates cannot be UTF-8 encoded).

Finite floats are accepted and written with Python's shortest round-trip
``repr``; callers that need cross-language byte equality should keep entries to
strings, integers, booleans and null (our entry schema does).
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["CanonicalJSONError", "canonical_json", "parse_canonical_json"]


class CanonicalJSONError(ValueError):
    """The value cannot be encoded canonically, or bytes are not canonical JSON.

    ``path`` is a JSON-pointer-like location of the offending item ("" for the
    whole document), so the message can name the field.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        where = f" at {path!r}" if path else ""
        super().__init__(f"{message}{where}")


def _check(value: Any, path: str) -> None:
    # json.dumps would accept (and coerce) several things we must refuse, so walk
    # the value first. Recursion depth is bounded by the entry schema.
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(
                    f"object key {key!r} is {type(key).__name__}, not str", path
                )
            _check(item, f"{path}/{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}/{i}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJSONError(f"{value!r} is not representable in JSON", path)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalJSONError("string is not valid Unicode", path) from exc
    elif value is None or isinstance(value, (bool, int)):
        pass
    else:
        raise CanonicalJSONError(f"{type(value).__name__} is not a JSON type", path)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON encoding of ``value``.

    Equal values (as Python compares dicts, lists, strings and numbers) give
    equal bytes. Raises :class:`CanonicalJSONError` for values listed in the
    module docstring.
    """
    try:
        _check(value, "")
    except RecursionError as exc:
        raise CanonicalJSONError("value is nested too deeply") from exc
    text = json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return text.encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalJSONError(f"duplicate object key {key!r}")
        result[key] = item
    return result


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not valid JSON")


def parse_canonical_json(data: bytes) -> Any:
    """Decode ``data`` and check that it is exactly the canonical encoding.

    Used by verifiers: an entry whose bytes decode to a value but are not that
    value's canonical encoding (reordered keys, extra spaces, escaped
    characters, duplicate keys) is rejected with :class:`CanonicalJSONError`,
    because two different byte strings must never stand for the same entry.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalJSONError("bytes are not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(f"not JSON: {exc.msg} (char {exc.pos})") from exc
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is valid but not in canonical form")
    return value
