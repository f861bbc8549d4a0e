"""The access pages' forms keep every input on an error and report every error at once
(issue 20, first finding: the approve form came back with a withheld column ticked again)."""

import os
import re

import pytest
from django.urls import reverse

from access.forms import ApproveForm, MaskField
from access.models import AccessRequest, Grant
from storage.services import key_wrap

from .conftest import PURPOSE

pytestmark = pytest.mark.django_db


def _checked(page: str, column: str) -> bool:
    tag = re.search(rf'<input type="checkbox" name="columns" value="{column}"[^>]*>', page)
    assert tag, f"no checkbox for {column}"
    return " checked" in tag.group(0)


def _selected(page: str, column: str) -> str:
    select = re.search(rf'<select name="mask-{column}".*?</select>', page, re.S)
    assert select, f"no mask for {column}"
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def test_the_approve_form_keeps_every_input_and_reports_every_error(cast, client, listing, ask):
    request = ask(listing())  # all six columns, 30 days
    client.force_login(cast.alice.user)
    url = reverse("access-request-approve", args=[request.pk])
    sent = {
        "columns": ["loan_id", "amount", "opened", "region"],  # customer, defaulted withheld
        "mask-region": "truncate",
        "mask-n-region": "",  # truncate to how many?
        "mask-opened": "year_only",
        "extra_filter": "amount >> 3",
        "duration_days": "45",  # more than the 30 asked for
    }
    response = client.post(url, sent)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Truncate “region” to a number of characters" in page
    assert "Row filter: expected a value for “amount”" in page
    assert "The duration is at most 30 days." in page
    assert not _checked(page, "customer") and not _checked(page, "defaulted")
    assert all(_checked(page, c) for c in ["loan_id", "amount", "opened", "region"])
    assert _selected(page, "opened") == "year_only" and _selected(page, "region") == "truncate"
    assert _selected(page, "customer") == ""
    assert 'name="extra_filter" value="amount &gt;&gt; 3"' in page
    assert 'name="duration_days" value="45"' in page
    assert not Grant.objects.exists()

    # Sent again as the page now stands, corrected: the withheld columns stay withheld.
    fixed = {**sent, "mask-n-region": "2", "extra_filter": "amount > 3", "duration_days": "20"}
    assert client.post(url, fixed).status_code == 302
    grant = Grant.objects.get()
    assert grant.columns == ["loan_id", "amount", "opened", "region"]
    assert grant.masks == {"region": "truncate:2", "opened": "year_only"}
    assert grant.filter == "amount > 3"
    assert (grant.expires_at - grant.created_at).days == 20


def test_approving_nothing_says_so_and_keeps_the_rest(cast, client, listing, ask):
    request = ask(listing())
    client.force_login(cast.alice.user)
    response = client.post(
        reverse("access-request-approve", args=[request.pk]),
        {"mask-customer": "pseudonymize", "extra_filter": "loan_id > 1", "duration_days": "x"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose at least one column." in page
    assert "Give the duration as a whole number of days." in page
    assert not any(_checked(page, c) for c in request.columns)
    assert _selected(page, "customer") == "pseudonymize"
    assert 'value="loan_id &gt; 1"' in page


def test_the_approve_form_starts_from_what_was_asked(cast, client, listing, ask):
    request = ask(listing(), duration_days=12)
    client.force_login(cast.alice.user)
    page = client.get(reverse("access-request", args=[request.pk])).content.decode()
    assert all(_checked(page, c) for c in request.columns)
    assert all(_selected(page, c) == "" for c in request.columns)
    assert 'name="duration_days" value="12"' in page and 'max="12"' in page


def test_the_request_form_reports_every_error_at_once(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    response = client.post(
        reverse("access-request-new", args=[dataset.pk]),
        {
            "purpose": "short",
            "columns": ["loan_id", "region"],
            "filter": "customer = 'Ann Smith'",  # a column not asked for
            "duration_days": "9999",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "at least 20 characters" in page
    assert "“customer” is not among the columns requested" in page
    assert "The duration is at most 365 days." in page
    assert _checked(page, "loan_id") and not _checked(page, "customer")
    assert ">\nshort</textarea>" in page
    assert "value=\"customer = 'Ann Smith'\"" in page or "customer = &#x27;Ann Smith&#x27;" in page
    assert not AccessRequest.objects.exists()


def test_a_refused_duplicate_request_is_shown_on_the_form(cast, client, listing, ask):
    dataset = listing()
    ask(dataset)
    client.force_login(cast.dave.user)
    response = client.post(
        reverse("access-request-new", args=[dataset.pk]),
        {"purpose": PURPOSE, "columns": ["loan_id"], "duration_days": "9"},
    )
    assert response.status_code == 400
    assert "already has an open request" in response.content.decode()


def test_reasons_are_asked_for_on_the_form(cast, client, listing, ask):
    request = ask(listing())
    client.force_login(cast.alice.user)
    response = client.post(reverse("access-request-deny", args=[request.pk]), {"reason": "  "})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'id="deny-reason_error">Say why, in a few words\.</p>', page)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.PENDING_DECISION
    response = client.post(reverse("access-request-deny", args=[request.pk]), {"reason": "No."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == AccessRequest.State.DENIED


def test_a_conflict_goes_back_to_the_page_which_shows_what_changed(cast, client, listing, ask):
    request = ask(listing())
    client.force_login(cast.alice.user)
    client.post(reverse("access-request-deny", args=[request.pk]), {"reason": "No."})
    response = client.post(
        reverse("access-request-approve", args=[request.pk]),
        {"columns": request.columns},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("access-request", args=[request.pk])
    assert "denied by the owner: it cannot be approved now" in response.content.decode()


def test_a_revoke_without_a_reason_is_shown_on_its_row(cast, client, granted):
    grant = granted()
    client.force_login(cast.alice.user)
    response = client.post(reverse("grant-revoke", args=[grant.pk]), {"reason": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="revoke-{grant.pk}-reason"' in page
    assert "<details open><summary>Revoke</summary>" in page
    assert f'id="revoke-{grant.pk}-reason_error">Say why, in a few words.</p>' in page
    grant.refresh_from_db()
    assert grant.state == Grant.State.ACTIVE


def test_a_refused_revoke_on_another_page_is_reported_above_the_list(cast, client, granted):
    first = granted()
    for _ in range(25):  # the list shows 25 a page, newest first: `first` is on page 2
        request = first.request
        request.pk = None
        request.save()
        Grant.objects.create(
            request=request,
            version=first.version,
            institution=first.institution,
            columns=first.columns,
            granted_by=first.granted_by,
            expires_at=first.expires_at,
            wrapped_key=key_wrap(os.urandom(32), purpose="grant"),  # one key row per grant
        )
    client.force_login(cast.alice.user)
    page = client.post(reverse("grant-revoke", args=[first.pk]), {"reason": ""}).content.decode()
    assert f"Grant #{first.pk} was not revoked: Say why, in a few words." in page
    assert f'id="revoke-{first.pk}-reason"' not in page


def test_the_mask_field_reads_each_column_and_reports_every_bad_one():
    field = MaskField(columns=[("name", "text"), ("born", "date"), ("n", "integer")])
    data = {
        "mask-name": "truncate",
        "mask-n-name": "0",
        "mask-born": "year_only",
        "mask-n": "year_only",
        "mask-ignored": "pseudonymize",
    }
    value = field.widget.value_from_datadict(data, {}, "masks")
    assert value == {"name": "truncate:0", "born": "year_only", "n": "year_only"}
    with pytest.raises(Exception) as refused:
        field.clean(value)
    assert refused.value.messages == [
        "Truncate “name” to a number of characters from 1 to 1000.",
        "year_only applies to dates; “n” is integer.",
    ]
    assert field.clean({"name": "truncate:007", "born": "year_only"}) == {
        "name": "truncate:7",
        "born": "year_only",
    }


def test_the_approve_form_refuses_a_filter_on_a_masked_column(cast, listing, ask):
    request = ask(listing(), filter_text="customer = 'Ann Smith'")
    form = ApproveForm(
        {"columns": request.columns, "mask-customer": "pseudonymize"}, request=request
    )
    assert not form.is_valid()
    assert "which is masked" in form.errors["masks"][0]
    form = ApproveForm({"columns": ["loan_id"]}, request=request)
    assert not form.is_valid()
    assert "which is not granted" in form.errors["columns"][0]
