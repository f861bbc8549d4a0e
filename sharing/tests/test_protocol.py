"""The protocol's edges without a live server: signing, page tokens, error shapes, the ledger."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from access import services as access
from ledger.models import OutboxEvent
from sharing import selectors, services
from sharing.models import ShareTable

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipient(cast, granted):
    """(grant, bearer secret) of dave's share, its files made."""
    grant = granted()
    assert services.share_files_make(grant_id=grant.pk)
    _token, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    return grant, secret


def _get(path: str, secret: str | None, **extra: Any):
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    return Client().get("/delta-sharing" + path, **headers, **extra)


def _table_path(grant) -> str:
    return (
        f"/shares/{services.share_name(grant)}/schemas/default/tables/{services.table_name(grant)}"
    )


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"errorCode", "message"} and body["errorCode"] == code
    return body["message"]


# --- Signing ----------------------------------------------------------------------------


def test_a_file_signature_binds_file_token_query_and_expiry():
    good = services.file_signature("f1", 7, 9, 1000)
    assert good == services.file_signature("f1", 7, 9, 1000)
    for other in [("f2", 7, 9, 1000), ("f1", 8, 9, 1000), ("f1", 7, 10, 1000), ("f1", 7, 9, 1001)]:
        assert services.file_signature(*other) != good


def test_a_file_signature_depends_on_the_secret_key(settings):
    before = services.file_signature("f1", 7, 9, 1000)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only"
    assert services.file_signature("f1", 7, 9, 1000) != before


def test_a_tampered_or_incomplete_file_url_is_refused(recipient):
    grant, secret = recipient
    lines = Client().post(
        "/delta-sharing" + _table_path(grant) + "/query",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    url = json.loads(lines.content.splitlines()[2])["file"]["url"]
    path, _, query = url.partition("/delta-sharing")[2].partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    ok = Client().get("/delta-sharing" + path, params)
    assert ok.status_code == 200 and b"".join(ok.streaming_content)[:4] == b"PAR1"
    later = {**params, "e": str(int(params["e"]) + 60)}  # a longer life than was signed
    assert "signature" in _error(
        Client().get("/delta-sharing" + path, later), 403, "PERMISSION_DENIED"
    )
    del params["s"]
    _error(Client().get("/delta-sharing" + path, params), 403, "PERMISSION_DENIED")


def test_a_file_url_stops_with_its_token(cast, recipient):
    grant, secret = recipient
    response = Client().post(
        "/delta-sharing" + _table_path(grant) + "/query",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    url = json.loads(response.content.splitlines()[2])["file"]["url"]
    token = grant.sharing_tokens.get()
    services.sharing_token_revoke(user=cast.dave.user, token=token)
    path, _, query = url.partition("/delta-sharing")[2].partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    assert "revoked" in _error(
        Client().get("/delta-sharing" + path, params), 403, "PERMISSION_DENIED"
    )


# --- Page tokens ------------------------------------------------------------------------


def test_pages_follow_the_signed_token():
    items = list(range(5))
    first, token = selectors.page(items, where="x", params={"maxResults": "2"})
    assert first == [0, 1] and token
    second, token = selectors.page(items, where="x", params={"maxResults": "2", "pageToken": token})
    assert second == [2, 3]
    third, token = selectors.page(items, where="x", params={"maxResults": "2", "pageToken": token})
    assert third == [4] and token is None


def test_max_results_zero_gives_no_items_but_a_token():
    shown, token = selectors.page([1, 2], where="x", params={"maxResults": "0"})
    assert shown == [] and token


@pytest.mark.parametrize(
    "params", [{"maxResults": "-1"}, {"maxResults": "two"}, {"pageToken": "forged"}]
)
def test_bad_paging_is_a_400(params):
    with pytest.raises(services.SharingError) as caught:
        selectors.page([1], where="x", params=params)
    assert (caught.value.status, caught.value.code) == (400, "INVALID_PARAMETER_VALUE")


def test_a_page_token_from_another_listing_is_refused():
    _shown, token = selectors.page([1, 2], where="shares", params={"maxResults": "1"})
    with pytest.raises(services.SharingError, match="another listing"):
        selectors.page([1, 2], where="schemas:1", params={"pageToken": token})


def test_shares_page_over_http(recipient):
    _grant, secret = recipient
    response = _get("/shares", secret, data={"maxResults": "0"})
    assert response.json()["items"] == [] and response.json()["nextPageToken"]
    assert len(_get("/shares", secret).json()["items"]) == 1
    _error(_get("/shares?pageToken=nonsense", secret), 400, "INVALID_PARAMETER_VALUE")


# --- Error shapes -----------------------------------------------------------------------


def test_no_token_and_an_unknown_token_are_401(recipient):
    response = _get("/shares", None)
    _error(response, 401, "UNAUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")
    _error(_get("/shares", "bizids_unknown"), 401, "UNAUTHENTICATED")


def test_unknown_share_schema_and_table_are_404(recipient):
    grant, secret = recipient
    _error(_get("/shares/nope", secret), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(
        _get(f"/shares/{services.share_name(grant)}/schemas/nope/tables", secret),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        _get(_table_path(grant).replace("/tables/", "/tables/x") + "/metadata", secret),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_names_are_case_insensitive(recipient):
    grant, secret = recipient
    assert _get(f"/shares/{services.share_name(grant).upper()}", secret).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1]",
        '{"limitHint": -1}',
        '{"limitHint": "3"}',
        '{"jsonPredicateHints": "{broken"}',
        '{"jsonPredicateHints": {"op": "equal"}}',
        '{"predicateHints": [1]}',
        '{"version": 7}',
        '{"timestamp": "2024-01-01T00:00:00Z"}',
    ],
)
def test_a_bad_query_body_is_a_400_in_the_protocols_shape(recipient, body):
    grant, secret = recipient
    response = Client().post(
        "/delta-sharing" + _table_path(grant) + "/query",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    _error(response, 400, "INVALID_PARAMETER_VALUE")


def test_a_wrong_method_is_405_in_the_protocols_shape(recipient):
    _grant, secret = recipient
    response = Client().delete("/delta-sharing/shares", HTTP_AUTHORIZATION=f"Bearer {secret}")
    _error(response, 405, "METHOD_NOT_ALLOWED")


def test_a_table_still_being_prepared_says_so(cast, granted):
    grant = granted()
    _token, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    message = _error(_get(_table_path(grant) + "/metadata", secret), 503, "TEMPORARILY_UNAVAILABLE")
    assert "prepared" in message


def test_version_and_metadata_carry_the_table_version(recipient):
    grant, secret = recipient
    head = Client().head(
        "/delta-sharing" + _table_path(grant) + "/version", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert head.status_code == 200 and head["Delta-Table-Version"] == "1"
    response = _get(_table_path(grant) + "/metadata", secret)
    protocol, meta = (json.loads(line) for line in response.content.splitlines())
    assert protocol == {"protocol": {"minReaderVersion": 1}}
    schema = json.loads(meta["metaData"]["schemaString"])
    assert [f["name"] for f in schema["fields"]] == grant.columns
    assert {f["name"]: f["type"] for f in schema["fields"]}["loan_id"] == "long"


# --- The ledger and the files ------------------------------------------------------------


def test_a_query_is_a_ledger_event_with_its_files_and_bytes_and_no_person(cast, recipient):
    grant, secret = recipient
    Client().post(
        "/delta-sharing" + _table_path(grant) + "/query",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    event = OutboxEvent.objects.filter(kind="sharing.queried").get()
    entry = json.loads(bytes(event.payload))
    files = list(grant.share_table.files.all())
    assert entry["subject"]["files"] == [f.file_id for f in files]
    assert entry["subject"]["bytes"] == sum(f.size for f in files)
    assert entry["actor"] == {"institution": "beta"}
    assert "user" in entry["commitments"]  # the person only as a commitment
    assert "dave" not in bytes(event.payload).decode()


def test_the_files_hold_only_the_view(cast, granted):
    import io

    import pyarrow.parquet as pq

    from storage.services import object_open

    grant = granted(
        approval=access.Approval(columns=["loan_id", "region"], extra_filter="region = 'north'")
    )
    assert services.share_files_make(grant_id=grant.pk)
    assert not services.share_files_make(grant_id=grant.pk)  # made once
    (only,) = grant.share_table.files.all()
    with object_open(only.object_id) as raw:
        table = pq.read_table(io.BytesIO(raw.read()))
    assert table.column_names == ["loan_id", "region"]
    assert table.column("region").to_pylist() == ["north", "north"]
    assert only.stats["numRecords"] == 2 and only.stats["minValues"] == {"loan_id": 1}


def test_a_failed_build_keeps_its_reason(cast, granted, monkeypatch):
    grant = granted()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services, "view_tables", broken)  # the name sharing calls
    assert not services.share_files_make(grant_id=grant.pk)
    table = ShareTable.objects.get(grant=grant)
    assert table.state == "failed" and "disk full" in table.error


def test_the_sweep_finds_grants_without_files(cast, granted, settings):
    settings.SHARING_SWEEP_SECONDS = 0
    grant = granted()
    time.sleep(0.01)
    assert services.share_tables_missing() == [grant.pk]
    services.share_files_make(grant_id=grant.pk)
    assert services.share_tables_missing() == []


def test_a_new_profile_replaces_the_old_token_and_expires_with_the_grant(cast, granted):
    grant = granted()
    first, _ = services.sharing_token_create(user=cast.dave.user, grant=grant)
    second, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_active
    assert second.expires_at <= grant.expires_at
    assert second.digest != secret and secret not in second.digest
    profile = services.profile_json(token=second, secret=secret, endpoint="https://x/delta-sharing")
    assert profile["shareCredentialsVersion"] == 1 and profile["expirationTime"].endswith("Z")


def test_a_suspended_listing_stops_the_next_request(cast, recipient):
    from catalog.services import dataset_suspend

    grant, secret = recipient
    assert _get("/shares", secret).status_code == 200
    dataset_suspend(
        user=cast.mo, dataset=grant.version.dataset, reason="Under review by the board."
    )
    _error(_get("/shares", secret), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?startingVersion=-1",
        "?startingVersion=x",
        "?startingVersion=2",
        "?startingVersion=1&endingVersion=0",
        "?startingTimestamp=2024-01-01T00:00:00Z",
    ],
)
def test_bad_change_feed_parameters_are_400s(recipient, query):
    grant, secret = recipient
    _error(_get(_table_path(grant) + "/changes" + query, secret), 400, "INVALID_PARAMETER_VALUE")


def test_a_change_feed_query_is_on_the_ledger_too(recipient):
    grant, secret = recipient
    response = _get(_table_path(grant) + "/changes?startingVersion=0", secret)
    adds = [json.loads(line) for line in response.content.splitlines()[2:]]
    assert [a["add"]["version"] for a in adds] == [1]
    event = OutboxEvent.objects.filter(kind="sharing.queried").get()
    assert json.loads(bytes(event.payload))["subject"]["request"] == "changes"


def _cmp(op: str, name: str, value: str, kind: str = "long") -> dict:
    return {
        "op": op,
        "children": [
            {"op": "column", "name": name, "valueType": kind},
            {"op": "literal", "value": value, "valueType": kind},
        ],
    }


STATS = {
    "numRecords": 10,
    "minValues": {"loan_id": 10, "opened": "2024-01-01"},
    "maxValues": {"loan_id": 20, "opened": "2024-03-31"},
    "nullCount": {"loan_id": 0, "region": 2},
}


@pytest.mark.parametrize(
    ("predicate", "kept"),
    [
        (_cmp("equal", "loan_id", "15"), True),
        (_cmp("equal", "loan_id", "21"), False),
        (_cmp("lessThan", "loan_id", "10"), False),
        (_cmp("lessThanOrEqual", "loan_id", "10"), True),
        (_cmp("greaterThan", "loan_id", "20"), False),
        (_cmp("greaterThanOrEqual", "loan_id", "20"), True),
        (_cmp("greaterThan", "opened", "2024-04-01", "date"), False),
        (_cmp("lessThan", "opened", "2024-02-01", "date"), True),
        (
            {
                "op": "and",
                "children": [_cmp("equal", "loan_id", "15"), _cmp("equal", "loan_id", "30")],
            },
            False,
        ),
        (
            {
                "op": "or",
                "children": [_cmp("equal", "loan_id", "1"), _cmp("equal", "loan_id", "15")],
            },
            True,
        ),
        ({"op": "not", "children": [_cmp("equal", "loan_id", "15")]}, True),  # not pruned on
        (
            {
                "op": "isNull",
                "children": [{"op": "column", "name": "loan_id", "valueType": "long"}],
            },
            False,
        ),
        (
            {
                "op": "isNull",
                "children": [{"op": "column", "name": "region", "valueType": "string"}],
            },
            True,
        ),
        (_cmp("equal", "region", "north", "string"), True),  # no statistics: kept
        (_cmp("equal", "loan_id", "fifteen"), True),  # not a number: kept
        (
            _cmp("equal", "loan_id", "15", "int")
            | {
                "children": [
                    {"op": "column", "name": "loan_id", "valueType": "string"},
                    {"op": "literal", "value": "99", "valueType": "long"},
                ]
            },
            True,
        ),
        ({"op": "someFutureOp", "children": []}, True),
        ({"op": "and"}, True),
    ],
)
def test_predicate_hints_only_drop_files_their_statistics_rule_out(predicate, kept):
    assert services.file_may_match(STATS, predicate) is kept
