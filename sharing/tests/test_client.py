"""The official Python client (`delta_sharing`, 1.4.2) against a live portal.

Each test publishes, grants and shares through the services, writes a profile file as the
grant page hands it out, and reads through the real HTTP server thread of `live_server`.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import delta_sharing
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from access import services as access
from access.services import Approval
from portal.tests.factories import InstitutionFactory, MembershipFactory
from sharing import services
from sharing.models import FileFetch, ShareQuery, SharingToken
from sharing.tests.conftest import MANY

pytestmark = pytest.mark.django_db(transaction=True)

VIEW = Approval(
    columns=["loan_id", "amount", "opened", "region", "customer"],
    extra_filter="region = 'north'",
    masks={"customer": "pseudonymize", "opened": "year_only"},
)


@pytest.fixture
def endpoint(live_server, settings):  # type: ignore[no-untyped-def]
    settings.SHARING_BASE_URL = live_server.url
    return live_server.url + "/delta-sharing"


def _download(grant, user) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    stream = access.grant_download(user=user, grant=grant, fmt="parquet")
    data = b"".join(stream.chunks)
    return pq.read_table(io.BytesIO(data)).to_pandas(date_as_object=True)


def _url(grant, path: str) -> str:  # type: ignore[no-untyped-def]
    share = services.share_name(grant)
    return f"{path}#{share}.default.{services.table_name(grant)}"


@pytest.fixture
def many_grant(cast, listing, ask, settings):  # type: ignore[no-untyped-def]
    """A filtered, masked grant of 240 loans cut into several small Parquet files."""
    settings.SHARING_FILE_BYTES, settings.ACCESS_DOWNLOAD_BLOCK_BYTES = 1, 1024

    def make(user=None, approval=VIEW):  # type: ignore[no-untyped-def]
        request = ask(listing(content=MANY), user=user)
        grant = access.access_request_approve(
            user=cast.alice.user, request=request, approval=approval
        )
        assert services.share_files_make(grant_id=grant.pk)
        return grant

    return make


def test_the_client_reads_exactly_the_grants_view(cast, many_grant, profile, endpoint):
    grant = many_grant()
    assert grant.share_table.files.count() > 2  # cut into several files
    frame = delta_sharing.load_as_pandas(_url(grant, profile(cast.dave.user, grant, endpoint)))
    expected = _download(grant, cast.dave.user)
    assert list(frame.columns) == VIEW.columns
    assert len(frame) == 80 and set(frame["region"]) == {"north"}
    # Same rows, same masked values: pseudonyms and years, as the download delivers them.
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected, check_dtype=False)
    assert frame["customer"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_limit_reads_fewer_rows_and_the_hint_prunes_files(cast, many_grant, profile, endpoint):
    grant = many_grant()
    path = profile(cast.dave.user, grant, endpoint)
    frame = delta_sharing.load_as_pandas(_url(grant, path), limit=5)
    assert len(frame) == 5
    query = ShareQuery.objects.latest("pk")
    assert 0 < query.files < grant.share_table.files.count()


def test_a_predicate_hint_never_widens_the_view(cast, many_grant, profile, endpoint):
    grant = many_grant()
    hint = json.dumps(
        {
            "op": "equal",
            "children": [
                {"op": "column", "name": "region", "valueType": "string"},
                {"op": "literal", "value": "south", "valueType": "string"},
            ],
        }
    )
    frame = delta_sharing.load_as_pandas(
        _url(grant, profile(cast.dave.user, grant, endpoint)), jsonPredicateHints=hint
    )
    # The grant holds northern loans only: a hint asking for the south finds none of them.
    assert set(frame["region"]) <= {"north"}
    assert len(frame) <= 80


def test_a_predicate_hint_prunes_whole_files_only(cast, many_grant, profile, endpoint):
    grant = many_grant()
    hint = json.dumps(
        {
            "op": "lessThanOrEqual",
            "children": [
                {"op": "column", "name": "loan_id", "valueType": "long"},
                {"op": "literal", "value": "30", "valueType": "long"},
            ],
        }
    )
    frame = delta_sharing.load_as_pandas(
        _url(grant, profile(cast.dave.user, grant, endpoint)), jsonPredicateHints=hint
    )
    query = ShareQuery.objects.latest("pk")
    assert 0 < query.files < grant.share_table.files.count()  # fewer files offered
    expected = _download(grant, cast.dave.user)
    wanted = set(expected.loc[expected["loan_id"] <= 30, "loan_id"])
    # Every matching row is there, and nothing outside the grant's own rows.
    assert wanted <= set(frame["loan_id"]) <= set(expected["loan_id"])


def test_list_all_tables_shows_exactly_the_recipients_share(cast, many_grant, profile, endpoint):
    grant = many_grant()
    other = many_grant(user=cast.carol.user)  # another grant of Beta: its own token needed
    client = delta_sharing.SharingClient(profile(cast.dave.user, grant, endpoint))
    tables = client.list_all_tables()
    assert [(t.share, t.schema, t.name) for t in tables] == [
        (services.share_name(grant), "default", services.table_name(grant))
    ]
    assert services.share_name(other) not in [s.name for s in client.list_shares()]


def test_another_institutions_token_sees_no_share_of_this_grant(
    cast, many_grant, profile, endpoint
):
    grant = many_grant()
    gamma = InstitutionFactory(name="Gamma Fintech", slug="gamma")
    erin = MembershipFactory(user__username="erin", institution=gamma).user
    own = many_grant(user=erin)
    client = delta_sharing.SharingClient(profile(erin, own, endpoint))
    assert [s.name for s in client.list_shares()] == [services.share_name(own)]
    token = SharingToken.objects.get(user=erin)
    response = requests.get(
        endpoint + f"/shares/{services.share_name(grant)}/all-tables",
        headers={"Authorization": "Bearer " + _secret_of(profile, erin, own, endpoint)},
        timeout=10,
    )
    assert response.status_code == 404
    assert response.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    assert token.grant_id == own.pk
    # Nor can erin get a token for Beta's grant: only the grantee's staff can.
    with pytest.raises(PermissionDenied, match="grantee"):
        services.sharing_token_create(user=erin, grant=grant)


def _secret_of(profile, user, grant, endpoint) -> str:  # type: ignore[no-untyped-def]
    with open(profile(user, grant, endpoint)) as f:
        return json.load(f)["bearerToken"]


def test_a_revoked_grant_is_refused_at_the_next_request(cast, many_grant, profile, endpoint):
    grant = many_grant()
    path = profile(cast.dave.user, grant, endpoint)
    assert len(delta_sharing.load_as_pandas(_url(grant, path))) == 80
    access.grant_revoke(user=cast.alice.user, grant=grant, reason="The project ended early.")
    with pytest.raises(requests.HTTPError) as caught:
        delta_sharing.load_as_pandas(_url(grant, path))
    assert caught.value.response.status_code == 403
    body = caught.value.response.json()
    assert body["errorCode"] == "PERMISSION_DENIED" and "revoked" in body["message"]


def test_an_expired_token_is_refused(cast, many_grant, profile, endpoint):
    grant = many_grant()
    path = profile(cast.dave.user, grant, endpoint)
    SharingToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(requests.HTTPError) as caught:
        delta_sharing.load_as_pandas(_url(grant, path))
    assert caught.value.response.status_code == 401
    assert caught.value.response.json()["errorCode"] == "UNAUTHENTICATED"


def _query(endpoint, grant, secret, body=None):  # type: ignore[no-untyped-def]
    share, table = services.share_name(grant), services.table_name(grant)
    return requests.post(
        endpoint + f"/shares/{share}/schemas/default/tables/{table}/query",
        json=body or {},
        headers={"Authorization": "Bearer " + secret},
        timeout=10,
    )


def test_a_file_url_after_its_expiry_is_refused(cast, many_grant, profile, endpoint, settings):
    grant = many_grant()
    secret = _secret_of(profile, cast.dave.user, grant, endpoint)
    settings.SHARING_URL_SECONDS = -1  # every URL handed out is already past its time
    lines = _query(endpoint, grant, secret).text.splitlines()
    url = json.loads(lines[2])["file"]["url"]
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "PERMISSION_DENIED"
    assert "expired" in response.json()["message"]


def test_files_serve_head_and_ranges_and_each_fetch_is_recorded_once(
    cast, many_grant, profile, endpoint
):
    grant = many_grant()
    secret = _secret_of(profile, cast.dave.user, grant, endpoint)
    response = _query(endpoint, grant, secret)
    assert response.headers["Delta-Table-Version"] == "1"
    first = json.loads(response.text.splitlines()[2])["file"]
    head = requests.head(first["url"], timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == first["size"]
    assert head.headers["Accept-Ranges"] == "bytes"
    start = requests.get(first["url"], headers={"Range": "bytes=0-3"}, timeout=10)
    end = requests.get(first["url"], headers={"Range": "bytes=-4"}, timeout=10)
    assert start.status_code == end.status_code == 206
    assert start.content == end.content == b"PAR1"
    assert start.headers["Content-Range"] == f"bytes 0-3/{first['size']}"
    whole = requests.get(first["url"], timeout=10)
    assert len(whole.content) == first["size"]
    outside = requests.get(first["url"], headers={"Range": f"bytes={first['size']}-"}, timeout=10)
    assert outside.status_code == 416
    fetches = FileFetch.objects.filter(file__file_id=first["id"])
    assert fetches.count() == 1  # one query, one file: one row however many requests
    # The three GETs that delivered bytes count; the HEAD and the refused range deliver none.
    assert (fetches.get().requests, fetches.get().bytes) == (3, 8 + first["size"])
    query = ShareQuery.objects.get()
    assert query.files == grant.share_table.files.count()
    assert query.bytes == sum(f.size for f in grant.share_table.files.all())


def test_the_change_data_feed_is_one_insert_of_the_view(cast, many_grant, profile, endpoint):
    grant = many_grant()
    url = _url(grant, profile(cast.dave.user, grant, endpoint))
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=0)
    assert len(changes) == 80 and set(changes["_change_type"]) == {"insert"}
    assert set(changes["_commit_version"]) == {1}
    expected = _download(grant, cast.dave.user)
    pd.testing.assert_frame_equal(
        changes[VIEW.columns].sort_values("loan_id").reset_index(drop=True),
        expected.sort_values("loan_id").reset_index(drop=True),
        check_dtype=False,
    )
    after = delta_sharing.load_table_changes_as_pandas(url, starting_version=1, ending_version=1)
    assert len(after) == 80
    with pytest.raises(requests.HTTPError) as caught:
        delta_sharing.load_table_changes_as_pandas(url, starting_version=5)
    assert caught.value.response.json()["errorCode"] == "INVALID_PARAMETER_VALUE"
