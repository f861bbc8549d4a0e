"""Query parameters of the request and grant lists (API and pages): django-filter sets over
what the selectors let the person see. Not the row-filter language: that is `rowfilter`."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from access.models import AccessRequest, Grant, GrantQuerySet
from portal.api.filtering import KnownChoiceFilter
from portal.permissions import actor_for


class RequestFilter(django_filters.FilterSet):
    state = KnownChoiceFilter(choices=AccessRequest.State.choices, noun="a request state")
    mine = KnownChoiceFilter(
        choices=[("1", "yes"), ("true", "yes"), ("0", "no"), ("false", "no")],
        noun="a yes or no",
        method="filter_mine",
        label="only your institution's requests",
    )

    class Meta:
        model = AccessRequest
        fields = ["state"]

    def filter_mine(
        self, queryset: QuerySet[AccessRequest], name: str, value: str
    ) -> QuerySet[AccessRequest]:
        if value not in ("1", "true"):
            return queryset
        # The requests the actor's institution made (not those for its data); none without one.
        institution_id = actor_for(self.request.user).institution_id
        if institution_id is None:
            return queryset.none()
        return queryset.filter(institution_id=institution_id)


class GrantFilter(django_filters.FilterSet):
    state = KnownChoiceFilter(
        choices=Grant.State.choices, noun="a grant state", method="filter_state"
    )

    class Meta:
        model = Grant
        fields = ["state"]

    def filter_state(self, queryset: GrantQuerySet, name: str, value: str) -> GrantQuerySet:
        return queryset.in_state(value)
