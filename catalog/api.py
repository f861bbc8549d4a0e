"""Catalog endpoints (SPEC: /api/v1/datasets/…): thin views over the catalog's services."""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import limits, selectors, services
from catalog.filters import SORTS, DatasetFilter
from catalog.models import Dataset, DatasetUpload, DatasetVersion
from consortium.models import Institution
from portal.api.filtering import filtered_or_400
from portal.api.pagination import PagePagination
from portal.errors import DomainError
from portal.permissions import AuthenticatedRequest


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagListField(serializers.Field):
    """Tags as a JSON list or a comma-separated string (what an HTML form sends)."""

    def to_internal_value(self, data: Any) -> list[str]:
        # Refused before anything walks a list of a million tags: duplicates aside, more than
        # MAX_TAGS is too many anyway.
        too_many = f"A listing takes at most {limits.MAX_TAGS} tags."
        if isinstance(data, str):
            if len(data) > limits.TAGS_TEXT_CHARS:
                raise serializers.ValidationError(
                    f"Tags take at most {limits.TAGS_TEXT_CHARS} characters; {too_many}"
                )
            data = data.split(",")
        if isinstance(data, list) and all(isinstance(t, str) for t in data):
            if len(data) > 2 * limits.MAX_TAGS:
                raise serializers.ValidationError(too_many)
            try:
                return services.clean_tags(data)
            except DomainError as exc:
                raise serializers.ValidationError(exc.message) from None
        raise serializers.ValidationError("Give tags as a list of words or a comma-separated text.")

    def to_representation(self, value: Any) -> list[str]:
        return list(value)


class MetadataSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=limits.TITLE_CHARS)
    description = serializers.CharField(max_length=limits.DESCRIPTION_CHARS)
    category = serializers.ChoiceField(choices=Dataset.Category.choices)
    sensitivity = serializers.ChoiceField(choices=Dataset.Sensitivity.choices)
    terms = serializers.CharField(max_length=limits.TERMS_CHARS)
    tags = TagListField(required=False)


class PublishSerializer(MetadataSerializer):
    # Empty files reach the checker, which explains them like any other bad file.
    file = serializers.FileField(
        help_text="A UTF-8 CSV file with a header row.", allow_empty_file=True
    )


class VersionUploadSerializer(serializers.Serializer):
    # Empty files reach the checker, which explains them like any other bad file.
    file = serializers.FileField(
        help_text="A UTF-8 CSV file with a header row.", allow_empty_file=True
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetVersion
        fields = ["number", "cid", "size_bytes", "row_count", "columns", "created_at"]


class DatasetSerializer(serializers.ModelSerializer):
    institution: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    tags = serializers.SerializerMethodField()
    current_version = VersionSerializer(read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "title",
            "description",
            "category",
            "sensitivity",
            "terms",
            "tags",
            "status",
            "status_reason",
            "institution",
            "institution_name",
            "current_version",
            "created_at",
            "updated_at",
        ]

    def get_tags(self, dataset: Dataset) -> list[str]:
        return [t.name for t in dataset.tags.all()]


class DatasetDetailSerializer(DatasetSerializer):
    versions = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "versions"]

    def get_versions(self, dataset: Dataset) -> list[dict]:
        # many=True makes a ListSerializer, whose data is a list; the stubs do not model it.
        return VersionSerializer(selectors.versions(dataset), many=True).data  # type: ignore[return-value]


class UploadSerializer(serializers.ModelSerializer):
    dataset: serializers.PrimaryKeyRelatedField[Dataset] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = DatasetUpload
        fields = [
            "id",
            "state",
            "file_name",
            "size_bytes",
            "progress_done",
            "progress_total",
            "problems",
            "more_problems",
            "dataset",
            "created_at",
            "updated_at",
        ]


class CatalogPagination(PagePagination):
    """Pages of listings whose total is already known from the facet counts (no COUNT(*))."""

    page_size = 25

    def __init__(self, *, count: int = 0) -> None:  # the schema generator passes none
        # DRF only calls it, as `django_paginator_class(queryset, page_size)`; the stubs want
        # a class, where a partial of one is what tells the paginator the count.
        self.django_paginator_class = functools.partial(  # type: ignore[assignment]
            selectors.CountedPaginator, count=count
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["required"] = [*paged["required"], "facets"]
        paged["properties"]["facets"] = {
            "type": "object",
            "description": "Per facet (category, sensitivity, institution, tag): its values.",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string"},
                        "label": {"type": "string"},
                        "count": {"type": "integer"},
                    },
                    "required": ["value", "label", "count"],
                },
            },
        }
        return paged


def _get(request: AuthenticatedRequest, pk: int) -> Dataset:
    return selectors.dataset_or_404(user=request.user, pk=pk)


def _upload_response(upload: DatasetUpload, request: AuthenticatedRequest) -> Response:
    if upload.state == DatasetUpload.State.READY:
        assert upload.dataset_id is not None, "a ready upload has made its listing"
        dataset = selectors.dataset_for(user=request.user, pk=upload.dataset_id)
        return Response(DatasetDetailSerializer(dataset).data, status=status.HTTP_201_CREATED)
    return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)


class DatasetListView(APIView):
    """`GET` searches the catalog (with facet counts); `POST` publishes a CSV (multipart).

    A file up to CATALOG_SYNC_BYTES is checked and stored at once (201 with the listing, or
    400 naming each problem's line and column); a larger one answers 202 with an upload whose
    state `GET /api/v1/uploads/{id}/` reports until it is ready.
    """

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    pagination_class = CatalogPagination  # read by the schema; get() pages by hand

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "search", str, description="words in title, description, tags, columns"
            ),
            OpenApiParameter("institution", str, description="institution slug"),
            OpenApiParameter("category", str, enum=Dataset.Category.values),
            OpenApiParameter("sensitivity", str, enum=Dataset.Sensitivity.values),
            OpenApiParameter("tag", str),
            OpenApiParameter("status", str, enum=Dataset.Status.values),
            OpenApiParameter("sort", str, enum=list(SORTS)),
        ],
        responses=DatasetSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        found = filtered_or_400(DatasetFilter, request, selectors.listings(user=request.user))
        results = found.qs.prefetch_related("tags")
        counted = selectors.facets(results=results, narrowed=found.narrowed)
        paginator = CatalogPagination(count=counted.total)
        page: list[Dataset] | None = paginator.paginate_queryset(results, request, view=self)
        response = paginator.get_paginated_response(DatasetSerializer(page, many=True).data)
        response.data["facets"] = {
            f.name: [{"value": v, "label": label, "count": n} for v, label, n in f.values]
            for f in counted.facets
        }
        return response

    @extend_schema(
        request={"multipart/form-data": PublishSerializer},
        responses={201: DatasetDetailSerializer, 202: UploadSerializer},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = PublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        metadata = {k: v for k, v in data.validated_data.items() if k != "file"}
        upload = services.dataset_upload_start(
            user=request.user, upload_file=data.validated_data["file"], metadata=metadata
        )
        return _upload_response(upload, request)


class DatasetDetailView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(responses=DatasetDetailSerializer)
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(DatasetDetailSerializer(_get(request, pk)).data)

    @extend_schema(request=MetadataSerializer(partial=True), responses=DatasetDetailSerializer)
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        dataset = _get(request, pk)
        data = MetadataSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.dataset_update(
            user=request.user,
            dataset=dataset,
            change=services.MetadataChange(**data.validated_data),
        )
        return Response(DatasetDetailSerializer(_get(request, pk)).data)


class DatasetVersionsView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": VersionUploadSerializer},
        responses={201: DatasetDetailSerializer, 202: UploadSerializer},
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        dataset = _get(request, pk)
        data = VersionUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = services.dataset_upload_start(
            user=request.user, upload_file=data.validated_data["file"], dataset=dataset
        )
        return _upload_response(upload, request)


def _status_view(action: Any, doc: str) -> type[APIView]:
    class StatusView(APIView):
        __doc__ = doc

        @extend_schema(request=ReasonSerializer, responses=DatasetDetailSerializer)
        def post(self, request: AuthenticatedRequest, pk: int) -> Response:
            dataset = _get(request, pk)
            data = ReasonSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            action(user=request.user, dataset=dataset, reason=data.validated_data["reason"])
            return Response(DatasetDetailSerializer(_get(request, pk)).data)

    StatusView.__name__ = StatusView.__qualname__ = (
        f"{action.__name__.title().replace('_', '')}View"
    )
    return StatusView


DatasetWithdrawView = _status_view(services.dataset_withdraw, "The owner withdraws a listing.")
DatasetSuspendView = _status_view(services.dataset_suspend, "A moderator suspends a listing.")
DatasetRestoreView = _status_view(services.dataset_restore, "A moderator restores a listing.")


class UploadDetailView(APIView):
    """The state of an upload: checking and storing progress, problems, the listing made."""

    @extend_schema(responses=UploadSerializer)
    def get(self, request: AuthenticatedRequest, pk: str) -> Response:
        upload = selectors.upload_of(user=request.user, pk=pk)
        return Response(UploadSerializer(upload).data)
