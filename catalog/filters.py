"""Query parameters of the catalog (the page and `GET /api/v1/datasets/`): a django-filter
set over the listings the person may see. An unknown category, sensitivity, status, sort or
institution is refused by name, never answered with an empty or a default list."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from catalog import selectors
from catalog.models import Dataset
from consortium.models import Institution
from portal.api.filtering import KnownChoiceFilter, SortFilter

# name: (order_by, label); the first is the default.
SORTS = {
    "updated": ("-updated_at", "Recently updated"),
    "newest": ("-created_at", "Newest"),
    "title": ("title", "Title"),
    "rows": ("-current_version__row_count", "Most rows"),
    "size": ("-current_version__size_bytes", "Largest"),
}
SEARCH_CHARS = 200
# The parameters with a facet on the page (kept across a new search there).
FACETS = ("institution", "category", "sensitivity", "tag")


class DatasetFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    institution = django_filters.ModelChoiceFilter(
        queryset=Institution.objects.all(),
        to_field_name="slug",
        error_messages={"invalid_choice": "“%(value)s” is not an institution's slug."},
    )
    category = KnownChoiceFilter(choices=Dataset.Category.choices, noun="a category")
    sensitivity = KnownChoiceFilter(choices=Dataset.Sensitivity.choices, noun="a sensitivity")
    # Tags are free words: an unknown one is a search that finds nothing.
    tag = django_filters.CharFilter(field_name="tags__name")
    status = KnownChoiceFilter(choices=Dataset.Status.choices, noun="a listing status")
    sort = SortFilter(SORTS, label="Sort")

    class Meta:
        model = Dataset
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[Dataset], name: str, value: str
    ) -> QuerySet[Dataset]:
        return selectors.text_matches(queryset, value[:SEARCH_CHARS])

    def filter_queryset(self, queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
        if "sort" not in self.form.cleaned_data:  # refused (the page says so): the default
            queryset = self.filters["sort"].filter(queryset, "")
        return super().filter_queryset(queryset)

    @property
    def narrowed(self) -> bool:
        """True if anything but the sort order narrows the visible listings (the facets count
        the plain catalog's tags without a join otherwise)."""
        data = self.form.cleaned_data
        return any(data.get(name) for name in ("search", *FACETS, "status"))
