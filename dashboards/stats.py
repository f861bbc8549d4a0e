"""Durations and percentiles computed by the database, on PostgreSQL and SQLite alike.

`spreads()` gives the count, median, p90 and maximum of a duration over the rows matching each
of several conditions. PostgreSQL computes all of them in one aggregate query with
`percentile_cont(…) WITHIN GROUP (ORDER BY …) FILTER (WHERE …)`. SQLite has no percentile
aggregate, so there the counts come first (one query) and each percentile is then read with
`ORDER BY duration LIMIT 2 OFFSET ⌊(n-1)·p⌋` and interpolated exactly as percentile_cont does:
the database sorts, Python sees two rows. Either way no page loads the rows it summarises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    Expression,
    F,
    FloatField,
    Func,
    Max,
    Q,
    QuerySet,
)

PERCENTILES = (0.5, 0.9)


class Seconds(Func):
    """`end - start` in seconds, as a float (either side a datetime column or value)."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:  # type: ignore[override]
        template = (
            # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT computes in numeric, which
            # made the time-to-decision aggregate a third slower at 10^5 requests.
            "date_part('epoch', %(expressions)s)"
            if connection.vendor == "postgresql"
            else "((julianday(%(end)s) - julianday(%(start)s)) * 86400.0)"
        )
        if connection.vendor == "postgresql":
            return super().as_sql(
                compiler, connection, template=template, arg_joiner=" - ", **extra_context
            )
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return template % {"end": end_sql, "start": start_sql}, (*end_params, *start_params)


class WeekStart(Func):
    """The Monday (a date, UTC) of the week a datetime column falls in.

    Django's TruncWeek on SQLite calls a Python function for every row (about 10 ms per 1,000
    rows: a second per figure at 10^5 requests); SQLite's own date() does it in C. On
    PostgreSQL date_bin into 7-day bins from a Monday (2001-01-01, UTC) costs half of
    date_trunc('week', …) and leaves the planner a hash aggregate instead of a sort on disk.
    Datetimes are stored in UTC (USE_TZ, TIME_ZONE = "UTC"). Migration 0011 keeps planner
    statistics on this very expression: change one, change the other.
    """

    output_field = DateField()
    arity = 1

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:  # type: ignore[override]
        template = (
            "(date_bin('7 days', %(expressions)s, TIMESTAMPTZ '2001-01-01 00:00:00+00')"
            " AT TIME ZONE 'UTC')::date"
            if connection.vendor == "postgresql"
            # 'weekday 0' moves to the coming Sunday (or stays on one); six days back is Monday.
            else "date(%(expressions)s, 'weekday 0', '-6 days')"
        )
        return super().as_sql(compiler, connection, template=template, **extra_context)


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentiles (linear interpolation between the two nearest), all
    fractions from one sort: `percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY …)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fractions: tuple[float, ...], **extra: Any) -> None:
        from django.contrib.postgres.fields import ArrayField  # needs psycopg: PostgreSQL only

        # Literals, never input: the fractions are this module's constants.
        super().__init__(
            expression,
            fractions=", ".join(repr(float(f)) for f in fractions),
            output_field=ArrayField(FloatField()),
            **extra,
        )


@dataclass(frozen=True)
class Spread:
    """How a duration is spread over `count` rows, in seconds (None when there are none)."""

    count: int
    p50: float | None
    p90: float | None
    max: float | None


def _interpolate(pair: list[float], position: float) -> float:
    low = pair[0]
    if len(pair) == 1:
        return low
    return low + (pair[1] - low) * (position - math.floor(position))


def spreads(
    queryset: QuerySet[Any], durations: dict[str, tuple[Expression | F, Q]]
) -> dict[str, Spread]:
    """`{name: Spread}` of each `(duration expression, condition)` over `queryset`.

    One query on PostgreSQL; on other databases one for the counts and maxima plus one per
    non-empty condition and percentile (a bounded number, whatever the row count).
    """
    aggregates: dict[str, Any] = {}
    for name, (duration, condition) in durations.items():
        aggregates[f"{name}__n"] = Count("pk", filter=condition)
        aggregates[f"{name}__max"] = Max(duration, filter=condition)
        if connection.vendor == "postgresql":
            aggregates[f"{name}__p"] = PercentileCont(duration, PERCENTILES, filter=condition)
    values = queryset.aggregate(**aggregates)
    result = {}
    for name, (duration, condition) in durations.items():
        n = values[f"{name}__n"]
        if connection.vendor == "postgresql":
            found = values[f"{name}__p"] or [None] * len(PERCENTILES)  # NULL over no rows
        else:
            found = []
            for p in PERCENTILES:
                if n == 0:
                    found.append(None)
                    continue
                position = (n - 1) * p
                offset = math.floor(position)
                pair = list(
                    queryset.filter(condition)
                    .annotate(_seconds=duration)
                    .order_by("_seconds")
                    .values_list("_seconds", flat=True)[offset : offset + 2]
                )
                found.append(_interpolate(pair, position))
        result[name] = Spread(n, found[0], found[1], values[f"{name}__max"])
    return result
