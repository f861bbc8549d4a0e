"""Access endpoints (SPEC: /api/v1/requests/…, /api/v1/grants/…): thin views over the services.

404 when the request or grant is not visible to the caller at all, 403 when it is visible but
the action is not theirs (or the grant is expired or revoked, with the reason), 400 with the
field at fault when the rules refuse what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import selectors, services
from access.filters import GrantFilter, RequestFilter
from access.models import AccessRequest, Download, Grant
from catalog.api import ReasonSerializer
from catalog.selectors import dataset_for
from consortium.models import Institution
from ledger import selectors as ledger_selectors
from portal.api.filtering import filtered_or_400
from portal.api.pagination import PagePagination
from portal.permissions import AuthenticatedRequest


class RequestCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    purpose = serializers.CharField(max_length=5000)
    columns = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1)
    filter = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    duration_days = serializers.IntegerField(min_value=1)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApproveSerializer(serializers.Serializer):
    columns = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, min_length=1
    )
    extra_filter = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    masks = serializers.DictField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=dict,
        help_text="{column: pseudonymize | truncate:N | year_only}",
    )
    duration_days = serializers.IntegerField(min_value=1, required=False)


class RequestSerializer(serializers.ModelSerializer):
    dataset_title = serializers.CharField(source="dataset.title", read_only=True)
    owner = serializers.CharField(source="dataset.institution.slug", read_only=True)
    institution: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    grant = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "dataset",
            "dataset_title",
            "owner",
            "version",
            "institution",
            "requested_by",
            "purpose",
            "columns",
            "filter",
            "duration_days",
            "state",
            "moderation_reason",
            "decision_reason",
            "created_at",
            "updated_at",
            "moderated_at",
            "decided_at",
            "withdrawn_at",
            "grant",
        ]

    def get_grant(self, request: AccessRequest) -> int | None:
        approved = request.state == AccessRequest.State.APPROVED
        grant = getattr(request, "grant", None) if approved else None
        return grant.pk if grant else None


class OpenedFieldSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="user, purpose, reason, filter, terms…")
    value = serializers.CharField(help_text="What the entry commits to, exactly (UTF-8).")
    salt = serializers.CharField(help_text="32 bytes, hex.")
    commitment = serializers.CharField(help_text="SHA-256(salt || value), hex.")
    check = serializers.ChoiceField(
        choices=["matches", "pending", "mismatch"],
        help_text="Checked against the entry's bytes now: pending until the event is appended.",
    )


class OpenedEntrySerializer(serializers.Serializer):
    """A ledger entry's commitments opened for the parties: what the log itself hides."""

    kind = serializers.CharField()
    entry_index = serializers.IntegerField(allow_null=True)
    recorded_at = serializers.DateTimeField()
    # The API's key is "fields". DRF's metaclass takes declared fields out of the class, so
    # this does not shadow Serializer.fields at run time; the stubs cannot know that.
    fields = OpenedFieldSerializer(many=True)  # type: ignore[assignment]


class RequestDetailSerializer(RequestSerializer):
    ledger = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "ledger"]

    @extend_schema_field(OpenedEntrySerializer(many=True))
    def get_ledger(self, request: AccessRequest) -> list[dict[str, Any]]:
        ledger = selectors.request_ledger(request=request)
        # many=True makes a ListSerializer, whose data is a list; the stubs do not model it.
        return OpenedEntrySerializer(ledger, many=True).data  # type: ignore[return-value]


class GrantSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="request.dataset_id", read_only=True)
    dataset_title = serializers.CharField(source="request.dataset.title", read_only=True)
    owner = serializers.CharField(source="request.dataset.institution.slug", read_only=True)
    institution: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    version = serializers.IntegerField(source="version.number", read_only=True)
    cid = serializers.CharField(source="version.cid", read_only=True)
    state = serializers.ChoiceField(choices=Grant.State.choices, read_only=True)

    class Meta:
        model = Grant
        # Never the key: not even wrapped.
        fields = [
            "id",
            "request",
            "dataset",
            "dataset_title",
            "owner",
            "institution",
            "version",
            "cid",
            "columns",
            "filter",
            "masks",
            "state",
            "created_at",
            "expires_at",
            "expired_at",
            "revoked_at",
            "revoke_reason",
        ]


class DownloadSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    complete = serializers.BooleanField(read_only=True)
    ledger = serializers.SerializerMethodField()

    class Meta:
        model = Download
        fields = [
            "id",
            "user",
            "format",
            "csv_mode",
            "started_at",
            "finished_at",
            "complete",
            "rows",
            "bytes",
            "sha256",
            "ledger",
        ]

    @extend_schema_field(OpenedEntrySerializer(many=True))
    def get_ledger(self, download: Download) -> list[dict[str, Any]]:
        opened = self.context.get("ledger", {}).get(download.pk, [])
        # many=True makes a ListSerializer, whose data is a list; the stubs do not model it.
        return OpenedEntrySerializer(opened, many=True).data  # type: ignore[return-value]


class AccessPagination(PagePagination):
    page_size = 25


def _request(request: AuthenticatedRequest, pk: int) -> AccessRequest:
    return selectors.request_or_404(user=request.user, pk=pk)


def _grant(request: AuthenticatedRequest, pk: int) -> Grant:
    return selectors.grant_or_404(user=request.user, pk=pk)


class RequestListView(APIView):
    """`GET`: requests of your institution and for its data (every one for moderators);
    `POST`: ask for access to a dataset."""

    pagination_class = AccessPagination  # read by the schema; get() pages by hand

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=AccessRequest.State.values),
            OpenApiParameter("mine", bool, description="only your institution's requests"),
        ],
        responses=RequestSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        visible = selectors.requests_visible(user=request.user)
        qs = filtered_or_400(RequestFilter, request, visible).qs
        paginator = AccessPagination()
        page: list[AccessRequest] | None = paginator.paginate_queryset(
            qs.order_by("-created_at", "-pk"), request, view=self
        )
        return paginator.get_paginated_response(RequestSerializer(page, many=True).data)

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dataset = dataset_for(user=request.user, pk=values["dataset"])
        if dataset is None:
            raise serializers.ValidationError(
                {"dataset": ["No such dataset, or not yours to see."]}
            )
        created = services.access_request_create(
            user=request.user,
            dataset=dataset,
            purpose=values["purpose"],
            columns=values["columns"],
            filter_text=values["filter"],
            duration_days=values["duration_days"],
        )
        return Response(
            RequestSerializer(_request(request, created.pk)).data, status=status.HTTP_201_CREATED
        )


class RequestDetailView(APIView):
    @extend_schema(responses=RequestDetailSerializer)
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(RequestDetailSerializer(_request(request, pk)).data)


def _request_action(
    action: Any, serializer: type[serializers.Serializer], doc: str
) -> type[APIView]:
    class RequestActionView(APIView):
        __doc__ = doc

        @extend_schema(request=serializer, responses=RequestSerializer)
        def post(self, request: AuthenticatedRequest, pk: int) -> Response:
            access_request = _request(request, pk)
            data = serializer(data=request.data)
            data.is_valid(raise_exception=True)
            action(user=request.user, request=access_request, **data.validated_data)
            return Response(RequestSerializer(_request(request, pk)).data)

    RequestActionView.__name__ = RequestActionView.__qualname__ = (
        f"{action.__name__.title().replace('_', '')}View"
    )
    return RequestActionView


RequestClearView = _request_action(
    services.access_request_clear,
    OptionalReasonSerializer,
    "A moderator (of neither side) lets a confidential or restricted request through.",
)
RequestRejectView = _request_action(
    services.access_request_reject, ReasonSerializer, "A moderator rejects a request, with why."
)
RequestDenyView = _request_action(
    services.access_request_deny, ReasonSerializer, "A steward of the owner denies, with why."
)
RequestWithdrawView = _request_action(
    services.access_request_withdraw,
    OptionalReasonSerializer,
    "The requesting institution withdraws a request still waiting.",
)


class RequestApproveView(APIView):
    """A steward of the owner approves, optionally narrowing columns, adding a filter that is
    AND-ed with the requested one, masking columns and shortening the duration."""

    @extend_schema(request=ApproveSerializer, responses={201: GrantSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        access_request = _request(request, pk)
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        grant = services.access_request_approve(
            user=request.user,
            request=access_request,
            approval=services.Approval(
                columns=values.get("columns"),
                extra_filter=values["extra_filter"],
                masks=values["masks"],
                duration_days=values.get("duration_days"),
            ),
        )
        return Response(GrantSerializer(_grant(request, grant.pk)).data, status=201)


class GrantListView(APIView):
    """Grants to your institution and of its data (every one for moderators)."""

    pagination_class = AccessPagination  # read by the schema; get() pages by hand

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=Grant.State.values)],
        responses=GrantSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        visible = selectors.grants_visible(user=request.user)
        qs = filtered_or_400(GrantFilter, request, visible).qs
        paginator = AccessPagination()
        page: list[Grant] | None = paginator.paginate_queryset(
            qs.order_by("-created_at", "-pk"), request, view=self
        )
        return paginator.get_paginated_response(GrantSerializer(page, many=True).data)


class GrantDetailView(APIView):
    @extend_schema(responses=GrantSerializer)
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(GrantSerializer(_grant(request, pk)).data)


class GrantRevokeView(APIView):
    """A steward of the owner or a moderator revokes a grant now, with why."""

    @extend_schema(request=ReasonSerializer, responses=GrantSerializer)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        grant = _grant(request, pk)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.grant_revoke(user=request.user, grant=grant, reason=data.validated_data["reason"])
        return Response(GrantSerializer(_grant(request, pk)).data)


class GrantDownloadsView(APIView):
    """Downloads of a grant, each with the SHA-256 of exactly the bytes delivered."""

    @extend_schema(responses=DownloadSerializer(many=True))
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        grant = _grant(request, pk)
        downloads = list(selectors.downloads_of(grant=grant))
        ledger = selectors.downloads_ledger(downloads=downloads)
        return Response(DownloadSerializer(downloads, many=True, context={"ledger": ledger}).data)


def _receipt(event_id: int | None, name: str) -> HttpResponse:
    text = ledger_selectors.proof_receipt(event_id) if event_id is not None else None
    if text is None:
        raise NotFound(
            "Its ledger entry is not in a sealed block yet: ask again in a few seconds."
            if event_id is not None
            else "It has no ledger entry of its own (it predates receipts)."
        )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.tlog-proof"'
    return response


class GrantReceiptView(APIView):
    """The grant's approval as a C2SP tlog-proof: its ledger entry, inclusion proof and the
    signed, cosigned checkpoint, to keep and check later without the portal."""

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request: AuthenticatedRequest, pk: int) -> HttpResponse:
        grant = _grant(request, pk)
        return _receipt(grant.ledger_event_id, f"bizi-grant-{grant.pk}")


class DownloadReceiptView(APIView):
    """A completed download as a C2SP tlog-proof of its `data.downloaded` entry."""

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request: AuthenticatedRequest, pk: int, download: int) -> HttpResponse:
        grant = _grant(request, pk)
        found = selectors.downloads_of(grant=grant).filter(pk=download).first()
        if found is None:
            raise NotFound("No such download of this grant.")
        return _receipt(found.ledger_event_id, f"bizi-download-{found.pk}")


def streaming_response(stream: services.DownloadStream) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream.chunks, content_type=stream.content_type)
    response["Content-Disposition"] = f'attachment; filename="{stream.filename}"'
    # The digest is known only once the last byte is out, and WSGI sends no trailers: the
    # download's record (GET /api/v1/grants/{id}/downloads/) carries it, found by this id.
    response["X-Download-Id"] = str(stream.download.pk)
    response["Cache-Control"] = "no-store"
    return response


class _DataNegotiation(BaseContentNegotiation):
    """`?format=` here names the data's format (SPEC), not a DRF renderer: errors are JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class GrantDataView(APIView):
    """The grant's view, streamed: granted columns, rows passing the filter, masks applied.

    Only staff of the grantee institution; an expired or revoked grant answers 403 with the
    reason. `X-Download-Id` names the download record that will hold the SHA-256."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _DataNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=Download.Format.values),
            OpenApiParameter(
                "csv",
                str,
                enum=Download.CsvMode.values,
                description="CSV only: safe (default) prefixes cells that begin like a "
                "spreadsheet formula (= + - @ tab CR) with '; raw gives the exact values",
            ),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: AuthenticatedRequest, pk: int) -> StreamingHttpResponse:
        grant = _grant(request, pk)
        fmt = request.query_params.get("format", "csv")
        csv = request.query_params.get("csv", "")
        return streaming_response(
            services.grant_download(user=request.user, grant=grant, fmt=fmt, csv=csv)
        )
