"""The access box of a listing page: the request form, or the institution's open request."""

from typing import Any

from django import template
from django.conf import settings

from access.forms import RequestForm
from access.selectors import open_request_of
from access.services import may_request
from catalog.models import Dataset

register = template.Library()


@register.inclusion_tag("access/_listing_box.html", takes_context=True)
def access_box(context: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    user = context["request"].user
    version = dataset.current_version
    allowed = version is not None and may_request(user, dataset)
    open_request = open_request_of(user=user, dataset=dataset) if allowed else None
    return {
        "csrf_token": context.get("csrf_token"),
        "dataset": dataset,
        "version": version,
        "may_request": allowed and open_request is None,
        "open_request": open_request,
        "form": RequestForm(version=version),
        "max_days": settings.ACCESS_MAX_DAYS,
    }
