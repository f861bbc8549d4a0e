"""Survey benchmark: rebuilding the results snapshot over 10^4, 10^5 and 10^6 answers.

Issue 8 asks for the rebuild time at each size, with a goal of under 1 s at 10^6 on PostgreSQL:
one aggregate query (a GROUP BY answered from the `answer_tally` index), not a Python loop.
Each line times `snapshot_rebuild` exactly as the worker runs it (the aggregate, the latest free
texts, the chart, the write; median of 3) and the aggregate query on its own.

PostgreSQL when DATABASE_URL points at it, in a throwaway database created and dropped for the
run (never the configured one); SQLite in a temporary folder otherwise. Each line says which.
Answers (and their people) go in with COPY on PostgreSQL and bulk_create on SQLite, then the
table is analysed (and vacuumed on PostgreSQL) as autovacuum would have done in production.
`BENCH_SURVEY_SIZES=10000,100000` runs fewer sizes.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.scratch import create_django_database, drop_django_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
SIZES = [int(s) for s in os.environ.get("BENCH_SURVEY_SIZES", "10000,100000,1000000").split(",")]
REPEATS = 3
GOAL_SECONDS = 1.0
# Table 2's shares: 45 % lower the cost, 21 % efficiency, 26 % communication, 8 % other.
CUMULATIVE = [(45, 0), (66, 1), (92, 2), (100, 3)]


def _option_index(i: int) -> int:
    share = i % 100
    return next(index for bound, index in CUMULATIVE if share < bound)


def _insert(engine: str, survey, options, institutions, start: int, stop: int) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from surveys.models import Answer

    User = get_user_model()
    now = datetime.now(UTC)
    first_id = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    ids = range(first_id, first_id + (stop - start))

    def text(i: int) -> str:
        return f"bench reason {i}" if options[_option_index(i)].takes_text else ""

    with transaction.atomic():
        if engine == "postgresql":
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY auth_user (id, password, is_superuser, username, first_name, "
                    "last_name, email, is_staff, is_active, date_joined) FROM STDIN"
                ) as copy:
                    for user_id, i in zip(ids, range(start, stop), strict=True):
                        copy.write_row(
                            (user_id, "!", False, f"bench-{i}", "", "", "", False, False, now)
                        )
                with cursor.copy(
                    "COPY surveys_answer (survey_id, option_id, user_id, institution_id, "
                    "text, answered_at, changed_at) FROM STDIN"
                ) as copy:
                    for user_id, i in zip(ids, range(start, stop), strict=True):
                        copy.write_row(
                            (
                                survey.pk,
                                options[_option_index(i)].pk,
                                user_id,
                                institutions[i % len(institutions)].pk,
                                text(i),
                                now,
                                now,
                            )
                        )
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %s)", [ids[-1]]
                )
        else:
            User.objects.bulk_create(
                User(
                    id=user_id,
                    password="!",
                    username=f"bench-{i}",
                    is_active=False,
                    date_joined=now,
                )
                for user_id, i in zip(ids, range(start, stop), strict=True)
            )
            Answer.objects.bulk_create(
                Answer(
                    survey_id=survey.pk,
                    option_id=options[_option_index(i)].pk,
                    user_id=user_id,
                    institution_id=institutions[i % len(institutions)].pk,
                    text=text(i),
                    answered_at=now,
                    changed_at=now,
                )
                for user_id, i in zip(ids, range(start, stop), strict=True)
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE surveys_answer" if engine == "postgresql" else "ANALYZE")


def _median(function: Callable[[], object]) -> float:
    function()  # warm-up: the plan cache, plotly's import, the buffer cache
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _aggregate(survey_id: int) -> Callable[[], object]:
    from django.db.models import Count

    from surveys.models import Answer

    def run() -> list[tuple[int, int, int]]:
        return list(
            Answer.objects.filter(survey_id=survey_id)
            .values("institution_id", "option_id")
            .annotate(n=Count("pk"))
            .values_list("institution_id", "option_id", "n")
            .order_by()
        )

    return run


def _power(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else str(n)


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-survey-"))
    created = None
    try:
        setup_django(var_dir)
        from django.db.models import F

        from consortium.lei import lei_with_check_digits
        from consortium.models import Institution
        from surveys.models import ResultSnapshot, Survey
        from surveys.services import snapshot_rebuild

        created = create_django_database("bizi_bench_survey")
        engine = created[0]
        # Four institutions, as in the demo; nothing else of the demo matters here.
        institutions = [
            Institution.objects.create(
                name=f"Bench {n}", slug=f"bench-{n}", kind="bank", lei=lei_with_check_digits(base)
            )
            for n, base in enumerate(["BENCH0000000000001", "BENCH0000000000002",
                                      "BENCH0000000000003", "BENCH0000000000004"])
        ]  # fmt: skip
        survey = Survey.objects.create(
            title="Bench",
            question="What is the main effect?",
            opens_at=datetime(2026, 1, 1, tzinfo=UTC),
            closes_at=datetime(2099, 1, 1, tzinfo=UTC),
        )
        for position, (label, takes_text) in enumerate(
            [("Lower the cost", False), ("Improve efficiency", False),
             ("Strengthen communication", False), ("Other", True)],
            start=1,
        ):  # fmt: skip
            survey.options.create(position=position, label=label, takes_text=takes_text)
        options = list(survey.options.order_by("position"))

        loaded = 0
        for size in sorted(SIZES):
            started = time.perf_counter()
            _insert(engine, survey, options, institutions, loaded, size)
            insert_seconds = time.perf_counter() - started
            loaded = size
            Survey.objects.filter(pk=survey.pk).update(results_version=F("results_version") + 1)
            rebuild = _median(lambda: snapshot_rebuild(survey_id=survey.pk))
            aggregate = _median(_aggregate(survey.pk))
            snapshot = ResultSnapshot.objects.get(survey=survey)
            assert snapshot.total == size, (snapshot.total, size)
            verdict = ""
            if size == 10**6 and engine == "postgresql":
                met = "met" if rebuild < GOAL_SECONDS else "NOT met"
                verdict = f"; goal < {GOAL_SECONDS:.0f} s on PostgreSQL: {met}"
            elif size == 10**6:
                verdict = f"; the goal (< {GOAL_SECONDS:.0f} s) is for PostgreSQL: set DATABASE_URL"
            print(
                f"survey.rebuild {_power(size)} answers ({engine}): {rebuild:.3f} s "
                f"(median of {REPEATS}; aggregate query {aggregate:.3f} s; "
                f"loaded in {insert_seconds:.1f} s){verdict}",
                flush=True,
            )
    finally:
        drop_django_database(created, var_dir)


if __name__ == "__main__":
    main()
