"""Storage's API (SPEC: `GET storage/nodes/`, `GET storage/table1/`), for the storage dashboard
and member institutions' scripts. Thin: permissions from `portal.permissions`, data from
`storage.selectors`, changes through `storage.services`."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.permissions import Perm, can, require
from storage import selectors, services
from storage.models import StorageNode


class StorageViewer(permissions.BasePermission):
    message = "Only members of the consortium can see storage."

    def has_permission(self, request: Request, view: object) -> bool:
        return can(request.user, Perm.STORAGE_VIEW)


# Inline enums rather than named components: "status" is a field of other apps' serializers too,
# with other values, and named enums of the same field name collide in the OpenAPI document.
@extend_schema_field({"type": "string", "enum": StorageNode.Status.values})
class NodeStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=StorageNode.Status.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": StorageNode.Kind.values})
class NodeKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=StorageNode.Kind.choices, **kwargs)


class NodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = NodeKindField()
    status = NodeStatusField()
    status_changed_at = serializers.DateTimeField()
    healthy = serializers.BooleanField(help_text="Up, answering and holding no bad shard.")
    shards = serializers.IntegerField()
    bad_shards = serializers.IntegerField(
        help_text="Shards found missing or corrupt, not yet rebuilt."
    )
    stored_bytes = serializers.IntegerField()
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    location = serializers.CharField(
        required=False, help_text="Folder or bucket; shown to those who manage nodes only."
    )


class NodeListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = NodeSerializer(many=True)


class NodeStatusSerializer(serializers.Serializer):
    status = NodeStatusField(
        help_text="up (checked first), down (shards rebuilt elsewhere) or draining (moved off).",
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


def _node_out(row: dict, *, manager: bool) -> dict:
    out = dict(row)
    out["healthy"] = (
        row["status"] == StorageNode.Status.UP and not row["last_error"] and not row["bad_shards"]
    )
    if not manager:
        # Where the shards physically are is the operators' business.
        out.pop("location")
        out["last_error"] = "" if not row["last_error"] else "not answering"
    return out


class NodeListView(APIView):
    """Every storage node with its status and health."""

    permission_classes = [permissions.IsAuthenticated, StorageViewer]

    @extend_schema(responses=NodeListSerializer)
    def get(self, request: Request) -> Response:
        manager = can(request.user, Perm.STORAGE_MANAGE)
        rows = [_node_out(row, manager=manager) for row in selectors.nodes_with_health()]
        return Response(NodeListSerializer({"count": len(rows), "results": rows}).data)


class NodeDetailView(APIView):
    """`PATCH` changes a node's status (moderators): down, draining, or up again."""

    permission_classes = [permissions.IsAuthenticated, StorageViewer]

    @extend_schema(request=NodeStatusSerializer, responses=NodeSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        node = get_object_or_404(selectors.nodes(), pk=pk)
        require(request.user, Perm.STORAGE_MANAGE)
        data = NodeStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.node_set_status(
            node=node,
            status=data.validated_data["status"],
            reason=data.validated_data.get("reason") or f"set by {request.user.get_username()}",
        )
        row = next(r for r in selectors.nodes_with_health() if r["id"] == node.pk)
        return Response(NodeSerializer(_node_out(row, manager=True)).data)


class Table1View(APIView):
    """The latest run of the Table 1 experiment (`manage.py table1`), with the paper's figures
    and each measure's definition."""

    permission_classes = [permissions.IsAuthenticated, StorageViewer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        run = selectors.table1_latest()
        if run is None:
            raise NotFound("Table 1 has not been measured yet: run manage.py table1.")
        return Response({"run_at": run.created_at, **run.report})
