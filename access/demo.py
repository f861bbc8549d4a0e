"""Demo access: requests in every state, and grants active, expired and revoked.

Runs after the demo listings are published (load_demo defers both to after its commit, in
that order). Each scenario is keyed by its dataset, requesting institution and purpose, so
running it again adds nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from catalog.models import Dataset
from portal import cache_versions

State = AccessRequest.State

# requester, dataset title, purpose, columns (None: all), filter, outcome (where the request
# stops, or the state of the grant it becomes)
SCENARIOS = [
    (
        "omar",
        "SME loan book 2023–2024",
        "Calibrate our credit insurance pricing for SME borrowers by sector and region.",
        ["sector", "region", "amount", "defaulted"],
        "amount >= 10000",
        State.PENDING_MODERATION,
    ),
    (
        "quinn",
        "Card transactions, first half of 2025",
        "Train a fraud model for card-not-present payments at our merchants.",
        None,
        "",
        State.REJECTED,
    ),
    (
        "omar",
        "SME credit scores",
        "Compare the credit grades of our insured small businesses with the market.",
        ["sector", "region", "score", "grade"],
        "",
        State.PENDING_DECISION,
    ),
    (
        "nina",
        "Insurance claims 2024–2025",
        "Study whether motor claims in our regions follow the loan defaults we see.",
        None,
        "line in ('motor', 'property')",
        Grant.State.ACTIVE,
    ),
    (
        "quinn",
        "Retail loans 2023–2024",
        "Offer instalment payments to customers with a good repayment history.",
        None,
        "",
        State.DENIED,
    ),
    (
        "nina",
        "Merchant payments sample",
        "Size the market for merchant lending among our business customers.",
        None,
        "",
        State.WITHDRAWN,
    ),
    (
        "omar",
        "Retail loans 2023–2024",
        "Price payment-protection insurance for consumer loans by term and rate.",
        None,
        "",
        Grant.State.EXPIRED,
    ),
    (
        "quinn",
        "SME credit scores",
        "Set credit limits for merchants that ask for advances on their card receipts.",
        ["company_id", "sector", "score"],
        "",
        Grant.State.REVOKED,
    ),
]


def _steward_of(dataset: Dataset):
    return (
        get_user_model()
        .objects.filter(membership__institution=dataset.institution, membership__role="steward")
        .order_by("username")
        .first()
    )


_MODERATOR_FIRST = "load_demo makes the moderator 'mod' before the requests"


def load_demo_access() -> int:
    """Create the scenarios not there yet; returns how many were made."""
    users = {u.username: u for u in get_user_model().objects.select_related("membership")}
    moderator = users.get("mod")
    made = 0
    for username, title, purpose, columns, filter_text, outcome in SCENARIOS:
        user = users.get(username)
        dataset = Dataset.objects.filter(title=title).select_related("current_version").first()
        if user is None or dataset is None or dataset.current_version is None:
            continue
        if AccessRequest.objects.filter(dataset=dataset, purpose=purpose).exists():
            continue
        sensitive = dataset.sensitivity != Dataset.Sensitivity.INTERNAL
        request = services.access_request_create(
            user=user,
            dataset=dataset,
            purpose=purpose,
            columns=columns or dataset.current_version.column_names,
            filter_text=filter_text,
            duration_days=90,
        )
        made += 1
        steward = _steward_of(dataset)
        if outcome == State.PENDING_MODERATION:
            continue
        if outcome == State.REJECTED:
            assert moderator is not None, _MODERATOR_FIRST
            services.access_request_reject(
                user=moderator,
                request=request,
                reason="The purpose needs the data owner's fraud team; ask them directly first.",
            )
            continue
        if sensitive:
            assert moderator is not None, _MODERATOR_FIRST
            services.access_request_clear(user=moderator, request=request, reason="Purpose fits.")
        if outcome == State.PENDING_DECISION:
            continue
        if outcome == State.WITHDRAWN:
            services.access_request_withdraw(user=user, request=request, reason="Not needed now.")
            continue
        if outcome == State.DENIED:
            services.access_request_deny(
                user=steward, request=request, reason="Consumer data is not shared for marketing."
            )
            continue
        names = request.columns
        masks = {names[0]: "pseudonymize"}
        dates = [c["name"] for c in request.version.columns if c["type"] == "date"]
        if dates and dates[0] in names:
            masks[dates[0]] = "year_only"
        grant = services.access_request_approve(
            user=steward,
            request=request,
            approval=services.Approval(masks=masks, duration_days=60),
        )
        if outcome == Grant.State.EXPIRED:
            Grant.objects.filter(pk=grant.pk).update(
                created_at=timezone.now() - timedelta(days=61),
                expires_at=timezone.now() - timedelta(days=1),
            )
            cache_versions.bump("access")
            services.grants_expire()
        elif outcome == Grant.State.REVOKED:
            services.grant_revoke(
                user=steward, grant=grant, reason="The merchant advance programme was cancelled."
            )
    return made
