"""The access box of a listing page: the request form, or the institution's open request."""

from typing import Any

from django import template
from django.conf import settings

from access.selectors import open_request_for
from access.services import may_request
from catalog.models import Dataset

register = template.Library()


@register.inclusion_tag("access/_listing_box.html", takes_context=True)
def access_box(context: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    user = context["request"].user
    version = dataset.current_version
    allowed = version is not None and may_request(user, dataset)
    open_request = None
    if allowed:
        open_request = open_request_for(user=user, dataset=dataset)
    return {
        "csrf_token": context.get("csrf_token"),
        "dataset": dataset,
        "version": version,
        "may_request": allowed and open_request is None,
        "open_request": open_request,
        "values": {
            "purpose": "",
            "columns": version.column_names if version else [],
            "filter": "",
            "duration_days": 90,
        },
        "errors": {},
        "max_days": settings.ACCESS_MAX_DAYS,
    }
