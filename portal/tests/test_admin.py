"""Staff tooling: every registered model's admin list opens, and the rows the ledger records
(listings, requests, grants, downloads) cannot be added, changed or deleted there."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from access.models import AccessRequest, Download, Grant
from catalog.models import Dataset, DatasetUpload, DatasetVersion
from portal.admin import ReadOnlyAdmin

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.fixture
def staff(client):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-12345")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_every_admin_list_opens(staff, model) -> None:  # type: ignore[no-untyped-def]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert staff.get(url).status_code == 200


@pytest.mark.parametrize(
    "model", [Dataset, DatasetVersion, DatasetUpload, AccessRequest, Grant, Download]
)
def test_ledgered_rows_are_read_only_in_the_admin(staff, model) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(admin.site._registry[model], ReadOnlyAdmin)
    add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    assert staff.get(add).status_code == 403
