"""Demo listings: realistic synthetic datasets per institution, made deterministically by code.

Nothing here is real data: every value comes from a seeded random generator, so the demo is
the same on every machine and `load_demo` can run again without duplicating anything.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import synthetic
from catalog.models import Dataset
from catalog.services import dataset_upload_start

# institution slug, title, description, category, sensitivity, tags, generator, rows, seed
DEMO_DATASETS: list[tuple[str, str, str, str, str, list[str], Callable, int, int]] = [
    (
        "northbank",
        "SME loan book 2023–2024",
        "Loans to small and medium enterprises opened in 2023 and 2024, one row per loan, with "
        "sector, region, amount, rate, term and whether the loan defaulted.",
        "loans",
        "confidential",
        ["loans", "sme", "credit-risk"],
        synthetic.loans,
        2000,
        11,
    ),
    (
        "northbank",
        "Card transactions, first half of 2025",
        "Card payments by merchant category with amounts and currency; card holders are "
        "pseudonymous ids.",
        "cards",
        "restricted",
        ["cards", "payments", "fraud"],
        synthetic.cards,
        5000,
        12,
    ),
    (
        "harbor-mutual",
        "Insurance claims 2024–2025",
        "Claims by line of business and region, with reporting and settlement dates, amounts paid "
        "and a suspected-fraud flag.",
        "insurance",
        "confidential",
        ["claims", "insurance", "fraud"],
        synthetic.claims,
        3000,
        21,
    ),
    (
        "quill-pay",
        "Merchant payments sample",
        "A sample of payments processed for merchants, by category and currency.",
        "payments",
        "internal",
        ["payments", "merchants"],
        synthetic.cards,
        2000,
        31,
    ),
    (
        "eastfield-savings",
        "SME credit scores",
        "Credit scores and grades of small businesses, by sector, region and size.",
        "credit",
        "internal",
        ["credit-scores", "sme"],
        synthetic.scores,
        1500,
        41,
    ),
    (
        "eastfield-savings",
        "Retail loans 2023–2024",
        "Consumer loans with amount, rate, term and default flag.",
        "loans",
        "internal",
        ["loans", "retail"],
        synthetic.loans,
        1500,
        42,
    ),
]

TERMS = "For credit-risk and fraud analysis within the consortium only. No re-identification."


def load_demo_datasets() -> int:
    """Publish the demo listings that are not there yet; returns how many were published."""
    made = 0
    users = get_user_model().objects.select_related("membership__institution")
    for slug, title, description, category, sensitivity, tags, make, rows, seed in DEMO_DATASETS:
        if Dataset.objects.filter(institution__slug=slug, title=title).exists():
            continue
        publisher = users.filter(membership__institution__slug=slug).order_by("username").first()
        if publisher is None:
            continue
        content = make(random.Random(seed), rows)
        dataset_upload_start(
            user=publisher,
            upload_file=SimpleUploadedFile(f"{category}.csv", content, content_type="text/csv"),
            metadata={
                "title": title,
                "description": description,
                "category": category,
                "sensitivity": sensitivity,
                "terms": TERMS,
                "tags": tags,
            },
        )
        made += 1
    return made
