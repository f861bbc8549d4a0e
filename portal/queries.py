"""Query pieces every app's selectors share (the ledger's and storage's too: no app imports)."""

from datetime import datetime

from django.db.models import Q


def in_range(field: str, since: datetime | None, until: datetime | None) -> Q:
    """`field` in the half-open range [since, until); either side open when None."""
    q = Q()
    if since is not None:
        q &= Q(**{f"{field}__gte": since})
    if until is not None:
        q &= Q(**{f"{field}__lt": until})
    return q
