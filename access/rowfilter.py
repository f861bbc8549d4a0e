"""The row-filter language of access requests: a small predicate language over a schema.

    amount >= 1000 and (region = 'north' or region in ('south', 'east'))
    opened between '2024-01-01' and '2024-06-30' and defaulted is not null

Comparisons (= != < <= > >=), `in (…)`, `between … and …`, `is null`, `is not null`, combined
with `and` / `or` / `not` and parentheses. Strings are in single quotes ('' is a quote inside
one), numbers are plain, dates are strings 'YYYY-MM-DD'. A hand-written tokenizer and a
recursive-descent parser build an AST, which is checked against the version's column names and
types. Nothing is ever eval'd or turned into SQL: the AST compiles to a pyarrow.compute
expression (`to_arrow`) and prints back to one canonical text (`canonical`), which is what is
stored, shown and logged.

Grammar (precedence: or < and < not):
    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expr ")" | predicate
    predicate  := column ( op literal | "in" "(" literal ("," literal)* ")"
                  | "between" literal "and" literal | "is" ["not"] "null" )
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from portal.errors import DomainError

# Limits on what people type (each refusal names the position): the text, the nesting of
# parentheses and `not` (the parser recurses once per level: 238 levels used to overflow
# Python's stack), the values of one `in`, one quoted text, and integers (int64, as the
# downloads read them; a decimal must fit a float).
MAX_FILTER_CHARS = 2000
MAX_DEPTH = 32
MAX_IN_VALUES = 200
MAX_STRING_CHARS = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A stored filter is canonical text (spaces around operators, parentheses made explicit) and,
# in a grant, the requested one AND-ed with the steward's: longer and deeper than anything
# typed may be, but bounded by these; it is parsed again at every download.
MAX_STORED_FILTER_CHARS = 16000
MAX_STORED_DEPTH = 2 * MAX_DEPTH + 2
_KEYWORDS = {"and", "or", "not", "in", "between", "is", "null"}
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\"(?:[^\"]|\"\")+\"")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


class FilterError(DomainError):
    """A filter the language or the schema refuses; the message names where and why."""

    def __init__(self, message: str, position: int | None = None, *, field: str = "filter") -> None:
        where = f" (at character {position + 1})" if position is not None else ""
        super().__init__(f"Row filter: {message}{where}.", field=field, code="bad_filter")
        self.detail = message
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # name, keyword, op, string, number, lparen, rparen, comma, end
    text: str
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "(":
            tokens.append(Token("lparen", ch, None, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, None, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, None, i))
            i += 1
        elif ch == "'":
            j, parts = i + 1, []
            while True:
                if j >= n:
                    raise FilterError("a text in quotes is not closed", i)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        parts.append("'")
                        j += 2
                        continue
                    break
                parts.append(text[j])
                j += 1
            if len(parts) > MAX_STRING_CHARS:
                raise FilterError(
                    f"a text in quotes has at most {MAX_STRING_CHARS:,} characters", i
                )
            tokens.append(Token("string", text[i : j + 1], "".join(parts), i))
            i = j + 1
        elif any(text.startswith(op, i) for op in _OPERATORS):
            op = next(op for op in _OPERATORS if text.startswith(op, i))
            tokens.append(Token("op", op, "!=" if op == "<>" else op, i))
            i += len(op)
        elif (m := _NUMBER.match(text, i)) and (ch != "-" or m.end() > i + 1):
            literal = m.group(0)
            try:
                value: Any = int(literal) if re.fullmatch(r"-?\d+", literal) else Decimal(literal)
            except (ValueError, InvalidOperation):
                raise FilterError(f"“{literal[:40]}” is not a number", i) from None
            shown = literal if len(literal) <= 40 else literal[:40] + "…"
            if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
                raise FilterError(
                    f"the number “{shown}” is out of range "
                    f"(integers from {INT64_MIN} to {INT64_MAX})",
                    i,
                )
            if isinstance(value, Decimal) and abs(float(value)) == float("inf"):
                raise FilterError(f"the number “{shown}” is out of range", i)
            tokens.append(Token("number", literal, value, i))
            i = m.end()
        elif m := _NAME.match(text, i):
            word = m.group(0)
            if word.startswith('"'):
                tokens.append(Token("name", word, word[1:-1].replace('""', '"'), i))
            elif word.lower() in _KEYWORDS:
                tokens.append(Token("keyword", word, word.lower(), i))
            else:
                tokens.append(Token("name", word, word, i))
            i = m.end()
        else:
            raise FilterError(f"“{ch}” is not allowed here", i)
    tokens.append(Token("end", "", None, n))
    return tokens


# --- AST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    column: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Between:
    column: str
    low: Any
    high: Any


@dataclass(frozen=True)
class IsNull:
    column: str
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Compare | InList | Between | IsNull | Not | BoolOp


class _Parser:
    def __init__(
        self,
        tokens: list[Token],
        schema: dict[str, str],
        *,
        refused: dict[str, str] | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.schema = schema
        self.refused = refused or {}
        self.max_depth = max_depth
        self.depth = 0

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise FilterError(
                f"parentheses and “not” nest at most {self.max_depth} levels deep", tok.pos
            )

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value == word

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise FilterError(f"expected “{word}” but found {self.describe()}", self.tok.pos)
        self.take()

    def describe(self) -> str:
        return "the end" if self.tok.kind == "end" else f"“{self.tok.text}”"

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise FilterError("the filter is empty", 0)
        node = self.expr()
        if self.tok.kind != "end":
            raise FilterError(f"unexpected {self.describe()}", self.tok.pos)
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self) -> Node:
        if self.is_kw("not"):
            self.deeper(self.take())
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        if self.tok.kind == "lparen":
            self.deeper(self.take())
            node = self.expr()
            if self.tok.kind != "rparen":
                raise FilterError(f"expected “)” but found {self.describe()}", self.tok.pos)
            self.take()
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        tok = self.take()
        if tok.kind != "name":
            raise FilterError(
                f"expected a column name but found “{tok.text or 'the end'}”", tok.pos
            )
        column = tok.value
        if column not in self.schema:
            raise FilterError(f"there is no column “{column}”", tok.pos)
        if column in self.refused:
            raise FilterError(self.refused[column], tok.pos)
        kind = self.schema[column]
        op_tok = self.tok
        if op_tok.kind == "op":
            self.take()
            value = self.literal(column, kind)
            if kind == "boolean" and op_tok.value not in ("=", "!="):
                raise FilterError(f"the boolean column “{column}” takes only = and !=", op_tok.pos)
            return Compare(column, op_tok.value, value)
        if self.is_kw("in"):
            self.take()
            if self.tok.kind != "lparen":
                raise FilterError(
                    f"expected “(” after “in” but found {self.describe()}", self.tok.pos
                )
            self.take()
            values = [self.literal(column, kind)]
            while self.tok.kind == "comma":
                self.take()
                if len(values) == MAX_IN_VALUES:
                    raise FilterError(f"“in” takes at most {MAX_IN_VALUES} values", self.tok.pos)
                values.append(self.literal(column, kind))
            if self.tok.kind != "rparen":
                raise FilterError(f"expected “,” or “)” but found {self.describe()}", self.tok.pos)
            self.take()
            return InList(column, tuple(dict.fromkeys(values)))
        if self.is_kw("between"):
            self.take()
            if kind == "boolean":
                raise FilterError(f"the boolean column “{column}” has no range", op_tok.pos)
            low = self.literal(column, kind)
            self.expect_kw("and")
            high = self.literal(column, kind)
            return Between(column, low, high)
        if self.is_kw("is"):
            self.take()
            negated = False
            if self.is_kw("not"):
                self.take()
                negated = True
            self.expect_kw("null")
            return IsNull(column, negated)
        raise FilterError(
            f"expected an operator (= != < <= > >= in between is) after “{column}” "
            f"but found {self.describe()}",
            op_tok.pos,
        )

    def literal(self, column: str, kind: str) -> Any:
        tok = self.take()
        if tok.kind == "keyword" and tok.value == "null":
            raise FilterError(f"compare with null by “{column} is null”", tok.pos)
        if tok.kind not in ("string", "number", "name"):
            raise FilterError(
                f"expected a value for “{column}” but found “{tok.text or 'the end'}”", tok.pos
            )
        return _coerce(tok, column, kind)


def _coerce(tok: Token, column: str, kind: str) -> Any:
    article = "an" if kind[0] in "aeiou" else "a"
    bad = FilterError(
        f"“{tok.text}” is not {article} {kind} value for the column “{column}”", tok.pos
    )
    if kind == "integer":
        if tok.kind != "number" or not isinstance(tok.value, int):
            raise bad
        return tok.value
    if kind == "decimal":
        if tok.kind != "number":
            raise bad
        return tok.value
    if kind == "boolean":
        word = str(tok.value).lower() if tok.kind in ("name", "string") else ""
        if word in ("true", "yes"):
            return True
        if word in ("false", "no"):
            return False
        raise bad
    if tok.kind != "string":
        raise bad
    text = tok.value
    if kind == "date":
        if not _DATE.fullmatch(text):
            raise bad
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise bad from None
    if kind == "timestamp":
        if not _TIMESTAMP.fullmatch(text):
            raise bad
        try:
            dt.datetime.fromisoformat(text)
        except ValueError:
            raise bad from None
        return text
    return text


def parse(
    text: str,
    columns: list[dict[str, Any]],
    *,
    refused: dict[str, str] | None = None,
    max_chars: int = MAX_FILTER_CHARS,
    max_depth: int = MAX_DEPTH,
) -> Node | None:
    """Parse and check `text` against a version's `columns`; None for an empty filter.
    `refused` maps columns of the schema the filter may not use to the reason why."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > max_chars:
        raise FilterError(f"a filter has at most {max_chars:,} characters", max_chars)
    schema = {c["name"]: c["type"] for c in columns}
    return _Parser(tokenize(text), schema, refused=refused, max_depth=max_depth).parse()


def parse_stored(text: str, columns: list[dict[str, Any]]) -> Node | None:
    """`parse` for a stored (canonical, perhaps combined) filter, under the stored limits."""
    return parse(text, columns, max_chars=MAX_STORED_FILTER_CHARS, max_depth=MAX_STORED_DEPTH)


def stored_text(node: Node | None, columns: list[dict[str, Any]]) -> str:
    """`node`'s canonical text, checked to parse again under the stored limits."""
    text = canonical(node)
    if len(text) > MAX_STORED_FILTER_CHARS:
        raise FilterError(f"the filter is too long ({len(text):,} characters stored)")
    parse_stored(text, columns)
    return text


# --- canonical text ------------------------------------------------------------------------


def _quote_name(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def canonical(node: Node | None, *, nested: bool = False) -> str:
    """One text per filter: lower-case keywords, single spaces, parentheses only where needed."""
    if node is None:
        return ""
    if isinstance(node, Compare):
        return f"{_quote_name(node.column)} {node.op} {_literal_text(node.value)}"
    if isinstance(node, InList):
        values = ", ".join(_literal_text(v) for v in node.values)
        return f"{_quote_name(node.column)} in ({values})"
    if isinstance(node, Between):
        low, high = _literal_text(node.low), _literal_text(node.high)
        return f"{_quote_name(node.column)} between {low} and {high}"
    if isinstance(node, IsNull):
        return f"{_quote_name(node.column)} is {'not ' if node.negated else ''}null"
    if isinstance(node, Not):
        return f"not {canonical(node.operand, nested=True)}"
    text = f" {node.op} ".join(canonical(o, nested=isinstance(o, BoolOp)) for o in node.operands)
    return f"({text})" if nested else text


def combine(requested: str, extra: str, columns: list[dict[str, Any]]) -> str:
    """The approved filter: the requested one AND-ed with the steward's extra condition."""
    first = parse_stored(requested, columns)
    try:
        second = parse(extra, columns)
    except FilterError as exc:
        raise FilterError(exc.detail, exc.position, field="extra_filter") from None
    if first is None:
        return stored_text(second, columns)
    if second is None:
        return stored_text(first, columns)
    return stored_text(BoolOp("and", (first, second)), columns)


def columns_used(node: Node | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, Not):
        return columns_used(node.operand)
    if isinstance(node, BoolOp):
        return set().union(*(columns_used(o) for o in node.operands))
    return {node.column}


# --- pyarrow -------------------------------------------------------------------------------


_TRUE_WORDS = ["true", "True", "TRUE", "yes", "Yes", "YES"]


def to_arrow(node: Node, types: dict[str, str]) -> Any:
    """A pyarrow.compute expression over the columns as the download reads them (`types` maps
    each column to its schema type): integers as int64, dates as date32, everything else as
    the text of the file, so values go out exactly as published. Decimals compare as numbers,
    timestamps as ISO text, booleans by their words. Rows where it is true pass; a comparison
    with a missing value is not true, as in SQL."""
    return _compile(node, types, pc.field, lambda e: e.cast(pa.float64()))


def row_mask(node: Node, types: dict[str, str], table: Any, memory_pool: Any = None) -> Any:
    """`to_arrow`'s expression evaluated on `table` (a pyarrow Table read as `to_arrow` says):
    a boolean array, true for the rows that pass. The same compute functions, called directly:
    no Acero plan is built per call, which costs a download more than the comparisons do."""
    kw = {"memory_pool": memory_pool}
    return _compile(node, types, table.column, lambda a: pc.cast(a, pa.float64(), **kw), kw)


def _compile(
    node: Node, types: dict[str, str], column: Any, to_number: Any, kw: dict | None = None
) -> Any:
    """`node` as pyarrow.compute calls on `column(name)`: an expression when `column` is
    `pc.field`, arrays when it reads a table's columns (the functions accept either; `kw`
    goes to every call made on arrays)."""
    kw = kw or {}

    def field(name: str) -> Any:
        if types[name] == "decimal":
            return to_number(column(name))
        return column(name)

    def scalar(value: Any) -> Any:
        return pa.scalar(float(value) if isinstance(value, Decimal) else value)

    if isinstance(node, Compare):
        if types[node.column] == "boolean":
            values = column(node.column)
            truth = pc.is_in(values, value_set=pa.array(_TRUE_WORDS), **kw)
            test = truth if node.value else pc.invert(truth, **kw)
            if node.op == "!=":
                test = pc.invert(test, **kw)
            return pc.and_kleene(pc.is_valid(values, **kw), test, **kw)
        left, value = field(node.column), scalar(node.value)
        ops = {
            "=": pc.equal,
            "!=": pc.not_equal,
            "<": pc.less,
            "<=": pc.less_equal,
            ">": pc.greater,
            ">=": pc.greater_equal,
        }
        return ops[node.op](left, value, **kw)
    if isinstance(node, InList):
        if types[node.column] == "boolean":
            parts = [
                _compile(Compare(node.column, "=", v), types, column, to_number, kw)
                for v in node.values
            ]
            result = parts[0]
            for part in parts[1:]:
                result = pc.or_kleene(result, part, **kw)
            return result
        values = [float(v) if isinstance(v, Decimal) else v for v in node.values]
        return pc.is_in(field(node.column), value_set=pa.array(values), **kw)
    if isinstance(node, Between):
        left = field(node.column)
        low = pc.greater_equal(left, scalar(node.low), **kw)
        return pc.and_kleene(low, pc.less_equal(left, scalar(node.high), **kw), **kw)
    if isinstance(node, IsNull):
        test = pc.is_null(column(node.column), **kw)
        return pc.invert(test, **kw) if node.negated else test
    if isinstance(node, Not):
        return pc.invert(_compile(node.operand, types, column, to_number, kw), **kw)
    parts = [_compile(o, types, column, to_number, kw) for o in node.operands]
    result = parts[0]
    combine = pc.and_kleene if node.op == "and" else pc.or_kleene
    for part in parts[1:]:
        result = combine(result, part, **kw)
    return result
