"""Downloads: exactly the grant's view, in three formats, with the digest of the bytes sent."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from access import services
from access.models import Download, Grant
from access.services import Approval
from catalog import arrow_copy
from catalog.services import version_arrow_copy
from ledger.models import OutboxEvent

pytestmark = pytest.mark.django_db


def fetch(api, user, grant, fmt="csv"):  # type: ignore[no-untyped-def]
    api.force_authenticate(user)
    response = api.get(f"/api/v1/grants/{grant.pk}/data/", {"format": fmt})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def rows_of(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_a_download_holds_only_the_granted_view(cast, api, granted):
    grant = granted(
        filter_text="region = 'north' or region is null",
        approval=Approval(
            columns=["loan_id", "opened", "region", "customer"],
            extra_filter="loan_id != 4",
            # region is filtered on, so it may not be masked (the rows would give it away).
            masks={"customer": "pseudonymize", "opened": "year_only"},
        ),
    )
    response, body = fetch(api, cast.dave.user, grant)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = rows_of(body)
    assert list(rows[0]) == ["loan_id", "opened", "region", "customer"]  # no amount, no defaulted
    assert [r["loan_id"] for r in rows] == ["1", "3"]  # north or missing, and not 4
    assert [r["opened"] for r in rows] == ["2024", "2024"]
    assert [r["region"] for r in rows] == ["north", ""]
    assert all(len(r["customer"]) == 16 and "Ann" not in r["customer"] for r in rows)
    assert b"Ann Smith" not in body and b"1000.50" not in body

    download = Download.objects.get(pk=int(response["X-Download-Id"]))
    assert download.complete and download.sha256 == hashlib.sha256(body).hexdigest()
    assert (download.rows, download.bytes, download.format) == (2, len(body), "csv")
    event = OutboxEvent.objects.filter(kind="data.downloaded").get()
    assert json.loads(event.payload)["subject"]["sha256"] == download.sha256

    listed = api.get(f"/api/v1/grants/{grant.pk}/downloads/").json()
    assert listed[0]["sha256"] == hashlib.sha256(body).hexdigest()


def test_pseudonyms_are_stable_within_a_grant_and_differ_across_grants(cast, api, granted):
    approval = Approval(columns=["loan_id", "customer"], masks={"customer": "pseudonymize"})
    first = granted(approval=approval)
    second = granted(approval=approval, user=cast.carol.user)
    a1, a2 = (
        rows_of(fetch(api, cast.dave.user, first)[1]),
        rows_of(fetch(api, cast.dave.user, first)[1]),
    )
    b = rows_of(fetch(api, cast.dave.user, second)[1])
    assert a1 == a2  # stable across downloads of one grant
    tokens = {r["loan_id"]: r["customer"] for r in a1}
    assert tokens["1"] == tokens["4"]  # the same customer, the same token
    assert tokens["1"] != tokens["2"]
    assert {r["customer"] for r in b}.isdisjoint(tokens.values())  # another grant, other tokens


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_other_formats_carry_the_same_view(cast, api, granted, fmt):
    grant = granted(
        approval=Approval(columns=["loan_id", "amount", "region"], extra_filter="amount > 100")
    )
    response, body = fetch(api, cast.dave.user, grant, fmt)
    assert response.status_code == 200
    if fmt == "ndjson":
        rows = [json.loads(line) for line in body.decode().splitlines()]
    else:
        rows = pq.read_table(io.BytesIO(body)).to_pylist()
    assert rows == [
        {"loan_id": 1, "amount": "1000.50", "region": "north"},
        {"loan_id": 2, "amount": "250.00", "region": "south"},
    ]
    assert Download.objects.get().sha256 == hashlib.sha256(body).hexdigest()


def test_an_empty_view_still_has_its_header(cast, api, granted):
    grant = granted(filter_text="loan_id > 100", approval=Approval(columns=["loan_id", "region"]))
    _, body = fetch(api, cast.dave.user, grant)
    assert body == b"loan_id,region\n"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("dave", 200),
        ("carol", 200),
        ("alice", 403),
        ("bob", 403),
        ("mo", 403),
        ("meg", 404),
        ("aud", 404),
    ],
)
def test_only_the_grantee_downloads(cast, api, granted, who, status):
    grant = granted()
    user = getattr(getattr(cast, who), "user", getattr(cast, who))
    response, _ = fetch(api, user, grant)
    assert response.status_code == status


def test_revoked_and_expired_grants_answer_403_with_the_reason(cast, api, granted):
    grant = granted()
    services.grant_revoke(user=cast.alice.user, grant=grant, reason="Terms breached.")
    response, _ = fetch(api, cast.dave.user, grant)
    assert response.status_code == 403
    assert "revoked" in response.json()["detail"] and "Terms breached." in response.json()["detail"]

    other = granted(user=cast.carol.user)
    Grant.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response, _ = fetch(api, cast.dave.user, other)
    assert response.status_code == 403 and "expired" in response.json()["detail"]
    assert not Download.objects.exists()


def test_a_bad_format_is_a_400(cast, api, granted):
    response, _ = fetch(api, cast.dave.user, granted(), "xlsx")
    assert response.status_code == 400
    assert "format" in response.json()["fields"]


@pytest.mark.parametrize("copy", ["arrow", "csv"])
def test_the_download_streams_in_blocks(cast, api, listing, ask, settings, monkeypatch, copy):
    """From the version's Arrow copy, or from its CSV for a version without one: the same
    view, streamed in many pieces either way."""
    settings.ACCESS_DOWNLOAD_BLOCK_BYTES = 4096
    monkeypatch.setattr(arrow_copy, "ARROW_BATCH_BYTES", 4096)  # the copy's batches, at publish
    lines = [b"loan_id,amount,opened,defaulted,region,customer\n"]
    lines += [b"%d,%d.25,2024-01-03,true,north,Person %d\n" % (i, i, i % 97) for i in range(20000)]
    dataset = listing(content=b"".join(lines))
    if copy == "arrow":  # what the worker does after the publish
        assert version_arrow_copy(version_id=dataset.current_version_id)
    request = ask(dataset, columns=["loan_id", "customer"], filter_text="loan_id >= 10000")
    grant = services.access_request_approve(
        user=cast.alice.user, request=request, approval=Approval(masks={"customer": "pseudonymize"})
    )
    api.force_authenticate(cast.dave.user)
    response = api.get(f"/api/v1/grants/{grant.pk}/data/")
    pieces = list(response.streaming_content)
    assert len(pieces) > 10  # many pieces, not one buffered body
    body = b"".join(pieces)
    assert body.count(b"\n") == 10001
    assert Download.objects.get().sha256 == hashlib.sha256(body).hexdigest()


FORMULAS = (
    b"loan_id,amount,opened,defaulted,region,customer\n"
    b'1,-5.00,2024-01-03,false,"=HYPERLINK(""http://evil.example"",""x"")",Ann Smith\n'
    b"2,250.00,2024-02-11,true,+cmd|' /C calc'!A0,@SUM(A1)\n"
    b"3,1.00,2024-03-30,false,north,-minus\n"
)


def test_csv_downloads_are_spreadsheet_safe_unless_raw_is_asked(cast, api, listing, ask):
    dataset = listing(content=FORMULAS)
    request = ask(dataset)
    grant = services.access_request_approve(user=cast.alice.user, request=request)
    response, body = fetch(api, cast.dave.user, grant)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[1] == [
        "1",
        "-5.00",  # a decimal, a number: untouched
        "2024-01-03",
        "false",
        '\'=HYPERLINK("http://evil.example","x")',
        "Ann Smith",
    ]
    assert rows[2][4:] == ["'+cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert rows[3][5] == "'-minus"
    safe = Download.objects.get(pk=int(response["X-Download-Id"]))
    assert safe.csv_mode == "safe" and safe.sha256 == hashlib.sha256(body).hexdigest()

    api.force_authenticate(cast.dave.user)
    response = api.get(f"/api/v1/grants/{grant.pk}/data/", {"format": "csv", "csv": "raw"})
    raw_body = b"".join(response.streaming_content)
    assert list(csv.reader(io.StringIO(raw_body.decode())))[2][4:] == [
        "+cmd|' /C calc'!A0",
        "@SUM(A1)",
    ]
    raw = Download.objects.get(pk=int(response["X-Download-Id"]))
    assert raw.csv_mode == "raw" and raw.sha256 == hashlib.sha256(raw_body).hexdigest()
    listed = api.get(f"/api/v1/grants/{grant.pk}/downloads/").json()
    assert sorted(d["csv_mode"] for d in listed) == ["raw", "safe"]

    _, ndjson = fetch(api, cast.dave.user, grant, "ndjson")  # never escaped
    assert b'"region":"+cmd|' in ndjson
    assert Download.objects.filter(format="ndjson").get().csv_mode == ""


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "ndjson", "csv": "raw"}, "applies to format=csv only"),
        ({"format": "csv", "csv": "excel"}, "csv=safe (the default) or csv=raw"),
    ],
)
def test_bad_csv_modes_answer_400(cast, api, granted, params, message):
    grant = granted()
    api.force_authenticate(cast.dave.user)
    response = api.get(f"/api/v1/grants/{grant.pk}/data/", params)
    assert response.status_code == 400
    assert message in response.json()["fields"]["csv"][0]
    assert not Download.objects.exists()


def test_a_grant_made_before_the_rule_with_a_filter_on_a_masked_column_gives_no_data(
    cast, api, granted
):
    # Grants approved before filters were checked against masks: the filter would still
    # let the grantee probe the masked values, so the download is refused with the reason.
    grant = granted(approval=Approval(masks={"customer": "pseudonymize"}))
    Grant.objects.filter(pk=grant.pk).update(filter="customer = 'Ann Smith'")
    response, _ = fetch(api, cast.dave.user, Grant.objects.get(pk=grant.pk))
    assert response.status_code == 403
    assert "customer" in response.json()["detail"] and "masked" in response.json()["detail"]
    assert not Download.objects.exists()


def test_a_stored_filter_that_no_longer_parses_is_a_clear_error_not_a_broken_stream(
    cast, api, granted
):
    grant = granted()
    Grant.objects.filter(pk=grant.pk).update(filter="loan_id = " + "9" * 30)
    response, _ = fetch(api, cast.dave.user, Grant.objects.get(pk=grant.pk))
    assert response.status_code == 400
    assert "out of range" in response.json()["fields"]["filter"][0]
    assert not Download.objects.exists()
