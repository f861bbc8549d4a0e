"""Query parameters of list endpoints and pages, through django-filter.

A value outside a filter's choices is refused, naming the parameter: the API answers 400 in
the one error shape (portal/api/errors.py), a page says so, where either would otherwise have
shown an empty or a default list.
"""

from __future__ import annotations

from typing import Any, TypeVar

import django_filters
from django.db.models import QuerySet
from django_filters.utils import translate_validation
from rest_framework.request import Request

F = TypeVar("F", bound=django_filters.FilterSet)


class KnownChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter whose refusal names the value and every choice: “x” is not a state;
    use one of: active, expired, revoked."""

    def __init__(self, *args: Any, noun: str, **kwargs: Any) -> None:
        known = ", ".join(str(value) for value, _ in kwargs["choices"])
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": f"“%(value)s” is not {noun}; use one of: {known}."},
        )
        super().__init__(*args, **kwargs)


class SortFilter(KnownChoiceFilter):
    """`sort=<name>` orders by `orders[name]` (an `order_by` expression), then by newest pk;
    without it the first of `orders` applies. Not a narrowing: it always runs."""

    def __init__(self, orders: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        self.orders = {name: order for name, (order, _) in orders.items()}
        self.default = next(iter(orders))
        choices = [(name, label) for name, (_, label) in orders.items()]
        super().__init__(choices=choices, noun="a sort order", empty_label=None, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return qs.order_by(self.orders[value or self.default], "-pk")


def filtered_or_400(filterset_class: type[F], request: Request, queryset: QuerySet) -> F:
    """The filter set over `queryset` for the request's query parameters, or a 400 naming each
    parameter at fault (DRF's ValidationError, which the exception handler shapes)."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset
