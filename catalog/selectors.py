"""Reading the catalog: search, facets and a listing's preview, scoped to the person asking."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.search import SearchQuery
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.functional import cached_property

from catalog import sqlite_search
from catalog.models import Dataset, DatasetUpload, DatasetVersion, Tag
from consortium.models import Institution
from ledger.selectors import OpenedEntry, openings
from portal.permissions import Perm, actor_for, can
from storage.services import object_open


def visible_datasets(*, user: User) -> QuerySet[Dataset]:
    """Active listings for every participant; owners and moderators also see the others.

    Every participant sees every active listing: the facet counts of the plain catalog rely
    on it (_tag_counts).
    """
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
    # `status IN (…)` rather than `NOT status = 'active'`: an IN list is an index condition,
    # where the negation was a filter run on each of the institution's 25,000 active index
    # entries to find none (EXPLAIN at 100,000 listings: 582 buffers, 3.6 ms -> 7, 0.07 ms).
    if actor.institution_id is None:
        return active
    own_inactive = Dataset.objects.filter(
        institution_id=actor.institution_id,
        status__in=[Dataset.Status.WITHDRAWN, Dataset.Status.SUSPENDED],
    )
    if not own_inactive.exists():
        return active
    return qs.filter(Q(status=Dataset.Status.ACTIVE) | Q(institution_id=actor.institution_id))


def text_matches(qs: QuerySet[Dataset], text: str) -> QuerySet[Dataset]:
    """The listings of `qs` whose searchable text holds the words of `text`."""
    text = text.strip()
    if not text:
        return qs
    if connection.vendor == "postgresql":
        # The stored vector and its GIN index (migration 0007).
        query = SearchQuery(text, config="simple", search_type="websearch")
        return qs.filter(search_vector=query)
    for word in text.split()[:8]:
        if sqlite_search.indexed(word):
            qs = qs.filter(id__in=sqlite_search.matching_ids(word))
        else:
            qs = qs.filter(search_text__icontains=word)
    return qs


def listings(*, user: User) -> QuerySet[Dataset]:
    """The visible listings as the catalog shows them, for `catalog.filters.DatasetFilter` to
    narrow and sort."""
    # The search columns are for matching only: a listing with many columns carries kilobytes
    # of them, which no page or API list shows.
    return (
        visible_datasets(user=user)
        .select_related("institution", "current_version")
        .defer("search_text", "search_vector")
    )


@dataclass
class Facet:
    name: str
    values: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)


@dataclass
class FacetCounts:
    """The facets of a result set and its size (the sum of any one single-valued facet)."""

    total: int
    facets: list[Facet]


FACET_CACHE_SECONDS = 300
FACET_TAGS = 30


def facets(*, results: QuerySet[Dataset], narrowed: bool = True) -> FacetCounts:
    """Counts per institution, category, sensitivity and tag over the current results, and
    how many results there are (pages use it instead of a COUNT of their own). `narrowed`
    False says that `results` are all the listings visible to someone (the catalog with
    nothing but a sort), which lets the tags be counted without a join (see _tag_counts).

    Counting 100,000 listings takes tens of milliseconds per scan, and most people look at
    the same few views of the catalog, so the counts are cached under a key that includes the
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
        cached = _count_facets(results, narrowed=narrowed)
        cache.set(key, cached, FACET_CACHE_SECONDS)
    return cached


def _count_facets(results: QuerySet[Dataset], *, narrowed: bool) -> FacetCounts:
    """A fixed number of queries whatever the catalog's size: one grouped scan for the
    single-valued facets, the names of the institutions found, and the tags (_tag_counts).

    Institution, category and sensitivity come from one GROUP BY over all three columns
    (at most institutions x 7 x 3 groups), folded here: one pass over the results instead of
    one per facet, and, for the plain catalog, an index-only scan of the covering index
    `dataset_status_facets` (migration 0007). Every listing has exactly one sensitivity, so
    the groups also add up to the number of results: no separate COUNT(*).
    """
    base = results.order_by()
    by_institution: dict[int, int] = {}
    by_category: dict[str, int] = {}
    by_sensitivity: dict[str, int] = {}
    total = 0
    for institution_id, category, sensitivity, n in (
        base.values_list("institution_id", "category", "sensitivity")
        # COUNT(*), not COUNT(id): the id is not in the covering index, and PostgreSQL would
        # read the table (a parallel seq scan, 77 ms) instead of the index alone (19 ms).
        .annotate(n=Count("*"))
        .order_by()
    ):
        total += n
        by_institution[institution_id] = by_institution.get(institution_id, 0) + n
        by_category[category] = by_category.get(category, 0) + n
        by_sensitivity[sensitivity] = by_sensitivity.get(sensitivity, 0) + n

    institutions = Facet("institution")
    names = Institution.objects.filter(pk__in=list(by_institution)).values_list(
        "pk", "slug", "name"
    )
    for _, slug, name, n in sorted(
        ((pk, slug, name, by_institution[pk]) for pk, slug, name in names),
        key=lambda row: (-row[3], row[2]),
    ):
        institutions.values.append((slug, name, n))
    categories = Facet("category")
    labels = dict(Dataset.Category.choices)
    for value, n in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])):
        categories.values.append((value, labels.get(value, value), n))
    sensitivities = Facet("sensitivity")
    labels = dict(Dataset.Sensitivity.choices)
    for value, n in sorted(by_sensitivity.items(), key=lambda kv: (-kv[1], kv[0])):
        sensitivities.values.append((value, labels.get(value, value), n))

    tags = Facet("tag")
    if total:
        for name, n in _tag_counts(base, narrowed=narrowed):
            tags.values.append((name, name, n))
    return FacetCounts(total=total, facets=[institutions, categories, sensitivities, tags])


def _tag_counts(results: QuerySet[Dataset], *, narrowed: bool) -> list[tuple[str, int]]:
    """The FACET_TAGS most used tags among `results`, most used first, ties by name.

    Tags are many-to-many: a listing counts once under each of its tags. Joining 100,000
    results to their 100,000 tag links is the costliest part of the facets (PostgreSQL: hash
    join, 65 ms; SQLite: one index search per listing, 75 ms), so the plain catalog, whose
    results hold every active listing, subtracts instead: all links by tag (an index-only scan
    of the link table's tag index, 7 ms), less the links of withdrawn and suspended listings,
    plus those of them that are among the results (both through the status index, a handful).
    """
    through = Dataset.tags.through
    inactive = [Dataset.Status.WITHDRAWN, Dataset.Status.SUSPENDED]
    if not narrowed:
        counts: dict[int, int] = {}
        for sign, links in (
            (1, through.objects.all()),
            (-1, through.objects.filter(dataset__status__in=inactive)),
            (1, through.objects.filter(dataset__in=results.filter(status__in=inactive))),
        ):
            for tag_id, n in links.values_list("tag_id").annotate(n=Count("*")).order_by():
                counts[tag_id] = counts.get(tag_id, 0) + sign * n
        names = dict(
            Tag.objects.filter(pk__in=[t for t, n in counts.items() if n > 0]).values_list(
                "pk", "name"
            )
        )
        ranked = sorted(
            ((names[t], n) for t, n in counts.items() if t in names), key=lambda r: (-r[1], r[0])
        )
        return ranked[:FACET_TAGS]
    # Narrowed results: driven from the results through the (dataset, tag) unique index (a
    # LEFT JOIN; the untagged listings' NULL group is dropped): SQLite otherwise builds a list
    # of all result ids for an IN (subquery) first, 192 ms against 75 for 100,000 results.
    # When the results are filtered by a tag, their join to the tags must not be reused (it
    # would count the chosen tag only), so then they are a subquery, a small one.
    # (name, n) rows: the stubs do not follow a values_list() that annotate() then widens.
    grouped: QuerySet[Any, tuple[Any, ...]]
    if through._meta.db_table in results.query.alias_map:
        grouped = Tag.objects.filter(datasets__in=results.values("pk")).values_list("name")
        grouped = grouped.annotate(n=Count("datasets")).order_by("-n", "name")
    else:
        grouped = results.values_list("tags__name").annotate(n=Count("pk"))
        grouped = grouped.order_by("-n", "tags__name")
    return [(name, n) for name, n in grouped[: FACET_TAGS + 1] if name is not None][:FACET_TAGS]


class CountedPaginator(Paginator):
    """A paginator told the number of results (from the facet counts): Django's own would
    run a COUNT(*) over the results, a second full pass over 100,000 listings."""

    def __init__(self, object_list: Any, per_page: int, *, count: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self._count = count

    @cached_property
    def count(self) -> int:
        return self._count


def dataset_for(*, user: User, pk: int) -> Dataset | None:
    """The listing if this person may see it, else None (the caller answers 404)."""
    dataset = (
        Dataset.objects.select_related("institution", "current_version", "created_by")
        .defer("search_vector")
        .prefetch_related("tags")
        .filter(pk=pk)
        .first()
    )
    if dataset is None or not can(user, Perm.DATASET_VIEW, dataset):
        return None
    return dataset


def dataset_or_404(*, user: User, pk: int) -> Dataset:
    """The listing if this person may see it; Http404 otherwise (pages and API alike)."""
    dataset = dataset_for(user=user, pk=pk)
    if dataset is None:
        raise Http404("No such dataset, or not yours to see.")
    return dataset


def preview_rows(*, user: User, version: DatasetVersion) -> list[list[str]] | None:
    """The first rows of a version, for its owners only (None for anyone else)."""
    if not can(user, Perm.DATASET_PREVIEW, version.dataset):
        return None
    rows: list[list[str]] = []
    with object_open(version.object_id) as raw:
        text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
        for i, row in enumerate(csv.reader(text)):
            if i > settings.CATALOG_PREVIEW_ROWS:
                break
            if i > 0:
                rows.append(row)
    return rows


def versions(dataset: Dataset) -> QuerySet[DatasetVersion]:
    return dataset.versions.select_related("created_by").order_by("-number")


def dataset_scope(dataset_id: object) -> str:
    """Where `catalog.services` keeps the openings of a listing's ledger events."""
    return f"dataset:{dataset_id}"


def dataset_ledger(*, user: User, dataset: Dataset) -> list[OpenedEntry] | None:
    """The listing's events with their openings (who acted, reasons, terms) for its owner's
    people and moderators; None for everyone else, who see only the ledger itself."""
    if not (can(user, Perm.DATASET_PREVIEW, dataset) or can(user, Perm.DATASET_MODERATE, dataset)):
        return None
    return openings([dataset_scope(dataset.pk)])


def upload_of(*, user: User, pk: uuid.UUID | str) -> DatasetUpload:
    """The person's own upload; Http404 for anyone else's or an id that is none."""
    upload = DatasetUpload.objects.filter(pk=pk, created_by=user).first()
    if upload is None:
        raise Http404("No such upload of yours.")
    return upload


# --- Figures for the usage dashboard (issue 15) --------------------------------------------
#
# The dashboards read the catalog only through these: typed rows, one query each. `since`
# and `until` are the half-open range [since, until) of a dashboard's dates (either side open
# when None); `institution_id` narrows to one owner's listings. Every listing counts, whatever
# its status now. The week expression (`week`) is the dashboards' (dashboards/stats.py, where
# the planner statistics on it are kept), passed in: the catalog sits below the dashboards.


def _created(
    since: datetime | None, until: datetime | None, institution_id: int | None
) -> QuerySet[Dataset]:
    q = Q()
    if since is not None:
        q &= Q(created_at__gte=since)
    if until is not None:
        q &= Q(created_at__lt=until)
    qs = Dataset.objects.filter(q)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    return qs


@dataclass(frozen=True)
class DatasetsOfGroup:
    institution_id: int
    category: str
    sensitivity: str
    datasets: int
    active: int  # still listed


def datasets_per_owner_category_and_sensitivity(
    *, since: datetime | None, until: datetime | None, institution_id: int | None
) -> list[DatasetsOfGroup]:
    """Listings created in the range per (owner, category, sensitivity), in no order: one
    GROUP BY, at most institutions x categories x sensitivities rows, never one per listing."""
    groups = (
        _created(since, until, institution_id)
        .values("institution_id", "category", "sensitivity")
        .annotate(datasets=Count("id"), active=Count("id", filter=Q(status="active")))
        .order_by()
    )
    return [
        DatasetsOfGroup(
            g["institution_id"], g["category"], g["sensitivity"], g["datasets"], g["active"]
        )
        for g in groups
    ]


@dataclass(frozen=True)
class DatasetsOfWeek:
    week: date  # its Monday, UTC
    datasets: int


def datasets_per_week(
    *,
    since: datetime | None,
    until: datetime | None,
    institution_id: int | None,
    week: Callable[[str], Any],
) -> list[DatasetsOfWeek]:
    """Listings created per week (weeks start on Monday), oldest first: one query."""
    rows = (
        _created(since, until, institution_id)
        .annotate(week=week("created_at"))
        .values("week")
        .annotate(datasets=Count("id"))
        # Sorted below, not by the database: PostgreSQL cannot estimate how few weeks a
        # computed week column holds, so an ORDER BY on it made the planner sort every row
        # before grouping (a third of the query) instead of sorting the few groups.
        .order_by()
    )
    return sorted((DatasetsOfWeek(r["week"], r["datasets"]) for r in rows), key=lambda r: r.week)


def dataset_category_labels() -> dict[str, str]:
    return {str(value): str(label) for value, label in Dataset.Category.choices}


def dataset_sensitivity_labels() -> dict[str, str]:
    return {str(value): str(label) for value, label in Dataset.Sensitivity.choices}


@dataclass(frozen=True)
class DatasetName:
    title: str
    owner: str  # the owning institution's name


def dataset_names(ids: list[int]) -> dict[int, DatasetName]:
    """The title and owner of each listing in `ids`, by id: one query."""
    rows = Dataset.objects.filter(id__in=ids).values("id", "title", "institution__name")
    return {r["id"]: DatasetName(r["title"], r["institution__name"]) for r in rows}


def dataset_ids_owned_by(institution_id: int) -> QuerySet[Dataset, Mapping[str, Any]]:
    """The ids of an institution's listings, as a subquery for other apps' filters."""
    return Dataset.objects.filter(institution_id=institution_id).values("id")
