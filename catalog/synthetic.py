"""Synthetic financial datasets, generated deterministically from a seed (no Django here,
so benchmarks and tests can make files without a database). Nothing is real data."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

REGIONS = ["north", "south", "east", "west", "capital"]
SECTORS = ["retail", "manufacturing", "agriculture", "services", "construction", "logistics"]
MERCHANTS = ["grocery", "fuel", "travel", "restaurants", "electronics", "pharmacy", "utilities"]


def to_csv(header: list[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def loans(rng: random.Random, n: int) -> bytes:
    start = date(2023, 1, 1)
    rows = []
    for i in range(n):
        amount = round(rng.lognormvariate(9.5, 0.8), 2)
        rows.append(
            [
                f"L{100000 + i}",
                rng.choice(SECTORS),
                rng.choice(REGIONS),
                f"{amount:.2f}",
                f"{rng.uniform(3.5, 14.0):.2f}",
                rng.choice([12, 24, 36, 48, 60]),
                (start + timedelta(days=rng.randrange(700))).isoformat(),
                "true" if rng.random() < 0.06 else "false",
            ]
        )
    header = [
        "loan_id",
        "sector",
        "region",
        "amount",
        "rate_pct",
        "term_months",
        "opened",
        "defaulted",
    ]
    return to_csv(header, rows)


def cards(rng: random.Random, n: int) -> bytes:
    start = datetime(2025, 1, 1, 0, 0, 0)
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=rng.randrange(180 * 86400))
        rows.append(
            [
                f"T{i:07d}",
                f"C{rng.randrange(5000):05d}",
                at.isoformat(timespec="seconds") + "Z",
                rng.choice(MERCHANTS),
                f"{rng.lognormvariate(3.2, 1.0):.2f}",
                rng.choice(["EUR", "EUR", "EUR", "USD", "GBP"]),
                "true" if rng.random() < 0.004 else "false",
            ]
        )
    header = [
        "txn_id",
        "card_holder",
        "at",
        "merchant_category",
        "amount",
        "currency",
        "flagged_fraud",
    ]
    return to_csv(header, rows)


def claims(rng: random.Random, n: int) -> bytes:
    start = date(2024, 1, 1)
    rows = []
    for i in range(n):
        reported = start + timedelta(days=rng.randrange(500))
        settled = reported + timedelta(days=rng.randrange(5, 120))
        paid = rng.random() < 0.8
        rows.append(
            [
                f"CL-{i:06d}",
                rng.choice(["motor", "home", "travel", "health"]),
                rng.choice(REGIONS),
                reported.isoformat(),
                settled.isoformat() if paid else "",
                f"{rng.lognormvariate(7.0, 1.1):.2f}" if paid else "",
                "true" if rng.random() < 0.02 else "false",
            ]
        )
    header = ["claim_id", "line", "region", "reported", "settled", "paid_out", "suspected_fraud"]
    return to_csv(header, rows)


def scores(rng: random.Random, n: int) -> bytes:
    rows = []
    for i in range(n):
        score = max(300, min(850, int(rng.gauss(640, 70))))
        rows.append(
            [
                f"SME{20000 + i}",
                rng.choice(SECTORS),
                rng.choice(REGIONS),
                rng.randrange(1, 250),
                score,
                "ABCDE"[min(4, (850 - score) // 110)],
                date(2025, rng.randrange(1, 13), 1).isoformat(),
            ]
        )
    header = ["company_id", "sector", "region", "employees", "score", "grade", "as_of"]
    return to_csv(header, rows)
