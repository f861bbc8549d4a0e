"""Reading the catalog: search, facets and a listing's preview, scoped to the person asking."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Func, Q, QuerySet
from django.http import Http404

from portal.models import Dataset, DatasetVersion, Tag
from portal.permissions import Perm, actor_for, can

SORTS = {
    "updated": "-updated_at",
    "newest": "-created_at",
    "title": "title",
    "rows": "-current_version__row_count",
    "size": "-current_version__size_bytes",
}


def visible_datasets(*, user: AbstractBaseUser) -> QuerySet[Dataset]:
    """Active listings for every participant; owners and moderators also see the others."""
    actor = actor_for(user)
    if not actor.is_participant:
        return Dataset.objects.none()
    qs = Dataset.objects.all()
    if actor.is_moderator:
        return qs
    active = qs.filter(status=Dataset.Status.ACTIVE)
    # The OR below keeps the database from walking the (status, updated_at) index, which
    # makes the first page of 100,000 listings 50 times slower; most institutions have no
    # withdrawn or suspended listing, and then the plain filter says the same.
    own_inactive = Dataset.objects.filter(institution_id=actor.institution_id).exclude(
        status=Dataset.Status.ACTIVE
    )
    if actor.institution_id is None or not own_inactive.exists():
        return active
    return qs.filter(Q(status=Dataset.Status.ACTIVE) | Q(institution_id=actor.institution_id))


@dataclass
class CatalogQuery:
    text: str = ""
    institution: str = ""
    category: str = ""
    sensitivity: str = ""
    tag: str = ""
    status: str = ""
    sort: str = "updated"


def _text_filter(qs: QuerySet[Dataset], text: str) -> QuerySet[Dataset]:
    text = text.strip()
    if not text:
        return qs
    if connection.vendor == "postgresql":
        # The same expression as the GIN index of migration 0003, so the index is used.
        vector = Func(
            F("search_text"),
            function="to_tsvector",
            template="to_tsvector('simple'::regconfig, %(expressions)s)",
            output_field=SearchVectorField(),
        )
        query = SearchQuery(text, config="simple", search_type="websearch")
        return qs.annotate(_fts=vector).filter(_fts=query)
    for word in text.split()[:8]:
        qs = qs.filter(search_text__icontains=word)
    return qs


def search(*, user: AbstractBaseUser, query: CatalogQuery) -> QuerySet[Dataset]:
    qs = _text_filter(visible_datasets(user=user), query.text)
    if query.institution:
        qs = qs.filter(institution__slug=query.institution)
    if query.category:
        qs = qs.filter(category=query.category)
    if query.sensitivity:
        qs = qs.filter(sensitivity=query.sensitivity)
    if query.tag:
        qs = qs.filter(tags__name=query.tag)
    if query.status:
        qs = qs.filter(status=query.status)
    order = SORTS.get(query.sort, SORTS["updated"])
    return qs.select_related("institution", "current_version").order_by(order, "-pk")


@dataclass
class Facet:
    name: str
    values: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)


FACET_CACHE_SECONDS = 300


def facets(*, results: QuerySet[Dataset]) -> list[Facet]:
    """Counts per institution, category, sensitivity and tag over the current results.

    Counting 100,000 listings four ways takes most of a second, and most people look at the
    same few views of the catalog, so the counts are cached under a key that includes the
    catalog's newest change: any publish, edit, version or status change makes a new key, so
    a cached count is never out of date, only reused.
    """
    # Two single-column lookups: each is one step down an index (a combined MAX is a scan).
    changed = Dataset.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    last = Dataset.objects.order_by("-pk").values_list("pk", flat=True).first()
    sql, params = results.order_by().query.sql_with_params()
    fingerprint = hashlib.sha256(repr((sql, params, changed, last)).encode()).hexdigest()
    key = f"catalog-facets:{fingerprint}"
    cached = cache.get(key)
    if cached is None:
        cached = _count_facets(results)
        cache.set(key, cached, FACET_CACHE_SECONDS)
    return cached


def _count_facets(results: QuerySet[Dataset]) -> list[Facet]:
    base = results.order_by()
    ids = base.values("pk")
    institutions = Facet("institution")
    for row in (
        base.values("institution__slug", "institution__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "institution__name")
    ):
        institutions.values.append((row["institution__slug"], row["institution__name"], row["n"]))
    categories = Facet("category")
    labels = dict(Dataset.Category.choices)
    for row in base.values("category").annotate(n=Count("pk")).order_by("-n", "category"):
        categories.values.append(
            (row["category"], labels.get(row["category"], row["category"]), row["n"])
        )
    sensitivities = Facet("sensitivity")
    labels = dict(Dataset.Sensitivity.choices)
    for row in base.values("sensitivity").annotate(n=Count("pk")).order_by("-n", "sensitivity"):
        sensitivities.values.append((row["sensitivity"], labels[row["sensitivity"]], row["n"]))
    tags = Facet("tag")
    for row in (
        Tag.objects.filter(datasets__in=ids)
        .values("name")
        .annotate(n=Count("datasets"))
        .order_by("-n", "name")[:30]
    ):
        tags.values.append((row["name"], row["name"], row["n"]))
    return [institutions, categories, sensitivities, tags]


def dataset_for(*, user: AbstractBaseUser, pk: int) -> Dataset | None:
    """The listing if this person may see it, else None (the caller answers 404)."""
    dataset = (
        Dataset.objects.select_related("institution", "current_version", "created_by")
        .prefetch_related("tags")
        .filter(pk=pk)
        .first()
    )
    if dataset is None or not can(user, Perm.DATASET_VIEW, dataset):
        return None
    return dataset


def dataset_or_404(*, user: AbstractBaseUser, pk: int) -> Dataset:
    """The listing if this person may see it; Http404 otherwise (pages and API alike)."""
    dataset = dataset_for(user=user, pk=pk)
    if dataset is None:
        raise Http404("No such dataset, or not yours to see.")
    return dataset


def preview_rows(*, user: AbstractBaseUser, version: DatasetVersion) -> list[list[str]] | None:
    """The first rows of a version, for its owners only (None for anyone else)."""
    if not can(user, Perm.DATASET_PREVIEW, version.dataset):
        return None
    from storage.services import object_open

    rows: list[list[str]] = []
    with object_open(version.object_id) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        for i, row in enumerate(csv.reader(text)):
            if i > settings.CATALOG_PREVIEW_ROWS:
                break
            if i > 0:
                rows.append(row)
    return rows


def versions(dataset: Dataset) -> QuerySet[DatasetVersion]:
    return dataset.versions.select_related("created_by").order_by("-number")


def facet_labels() -> dict[str, Any]:
    return {
        "category": dict(Dataset.Category.choices),
        "sensitivity": dict(Dataset.Sensitivity.choices),
    }
