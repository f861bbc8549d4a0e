"""The ledger's public API (SPEC paths under /api/v1/ledger/), for auditors' machines.

Formats are chosen for outside verifiers: entries carry their exact bytes (base64) beside the
decoded JSON, hashes come as base64 (as in checkpoints) and hex, and the checkpoint and public
key are the plain-text C2SP formats that standard transparency-log tools read.
"""

import base64
import json

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import selectors, tiles, witnessing
from ledger.keys import log_verifier
from ledger.models import Block
from portal.permissions import Perm, can

TEXT = {(200, "text/plain"): OpenApiTypes.STR}


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class LedgerReader(permissions.BasePermission):
    message = "Only members of the consortium can read the ledger."

    def has_permission(self, request: Request, view: object) -> bool:
        return can(request.user, Perm.LEDGER_VIEW)


class _LedgerView(APIView):
    permission_classes = [permissions.IsAuthenticated, LedgerReader]


class PublicKeyView(APIView):
    """The log's Ed25519 key as a C2SP note verifier key; its name is the checkpoint origin."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=TEXT)
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(
            log_verifier().to_vkey() + "\n", content_type="text/plain; charset=utf-8"
        )


class CheckpointView(_LedgerView):
    """The latest checkpoint (C2SP tlog-checkpoint signed note) with witness cosignatures."""

    @extend_schema(responses=TEXT)
    def get(self, request: Request) -> HttpResponse:
        block = selectors.latest_block()
        if block is None:
            return HttpResponse(
                "No block has been sealed yet.\n", status=404, content_type="text/plain"
            )
        text = selectors.checkpoint_with_cosignatures(block)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


# SPEC (tlog-tiles): the checkpoint "is mutable, so its headers SHOULD prevent caching beyond a
# few seconds"; tiles and bundles are immutable. "private": the log is for the consortium's
# members, so no shared cache between them and the portal may keep a copy for anyone else.
CHECKPOINT_CACHE = "private, max-age=5"
IMMUTABLE_CACHE = "private, max-age=31536000, immutable"


class TileCheckpointView(CheckpointView):
    """C2SP tlog-tiles `<prefix>/checkpoint`: the latest checkpoint, cached a few seconds."""

    @extend_schema(responses=TEXT)
    def get(self, request: Request) -> HttpResponse:
        response = super().get(request)
        response["Cache-Control"] = CHECKPOINT_CACHE
        return response


class TileView(_LedgerView):
    """C2SP tlog-tiles `<prefix>/tile/<L>/<N>[.p/<W>]` (hashes) and `tile/entries/<N>[.p/<W>]`
    (entry bundles), up to the latest checkpoint's tree size; immutable once served."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, path: str) -> HttpResponse:
        try:
            ref = tiles.parse_path(f"tile/{path}")
        except tiles.TilePathError as exc:
            return HttpResponse(f"{exc}\n", status=404, content_type="text/plain")
        data = selectors.tile_bytes(ref, selectors.published_size())
        if data is None:
            return HttpResponse(
                f"{ref.path} is not in the latest checkpoint's tree.\n",
                status=404,
                content_type="text/plain",
            )
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Cache-Control"] = IMMUTABLE_CACHE
        return response


class PolicyView(_LedgerView):
    """The C2SP tlog-policy file: the log's key, the registered witnesses by institution and
    the quorum, so an auditor verifies checkpoints (and tlog-proof receipts) offline."""

    @extend_schema(responses=TEXT)
    def get(self, request: Request) -> HttpResponse:
        url = request.build_absolute_uri(reverse("api-ledger-tlog-checkpoint")).removesuffix(
            "checkpoint"
        )
        text = selectors.witness_policy(log_verifier().to_vkey(), url)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = CHECKPOINT_CACHE
        return response


class BlockSerializer(serializers.ModelSerializer):
    root_hash = serializers.SerializerMethodField()
    root_hash_hex = serializers.SerializerMethodField()
    prev_hash = serializers.SerializerMethodField()
    block_hash = serializers.SerializerMethodField()

    class Meta:
        model = Block
        fields = [
            "height",
            "tree_size",
            "root_hash",
            "root_hash_hex",
            "prev_hash",
            "block_hash",
            "sealed_at",
            "checkpoint",
        ]

    def get_root_hash(self, block: Block) -> str:
        return b64(bytes(block.root_hash))

    def get_root_hash_hex(self, block: Block) -> str:
        return bytes(block.root_hash).hex()

    def get_prev_hash(self, block: Block) -> str:
        return bytes(block.prev_hash).hex()

    def get_block_hash(self, block: Block) -> str:
        return bytes(block.block_hash).hex()


class BlockListView(generics.ListAPIView):
    """Sealed blocks, newest first."""

    permission_classes = [permissions.IsAuthenticated, LedgerReader]
    serializer_class = BlockSerializer

    def get_queryset(self) -> QuerySet[Block]:
        return selectors.blocks_newest_first()


class RangeSerializer(serializers.Serializer):
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=0)

    def validate(self, data: dict) -> dict:
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"end": "end must not be before start."})
        return data


class EntryOutSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    kind = serializers.CharField()
    data = serializers.CharField(help_text="base64 of the exact canonical JSON bytes")
    leaf_hash = serializers.CharField(help_text="hex SHA-256(0x00 || data)")
    entry = serializers.JSONField(help_text="data, decoded")


class EntriesOutSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    entries = EntryOutSerializer(many=True)


class ProofOutSerializer(serializers.Serializer):
    hashes = serializers.ListField(child=serializers.CharField(), help_text="base64")
    hashes_hex = serializers.ListField(child=serializers.CharField())
    root_hash = serializers.CharField(help_text="base64 root at the proof's tree size")


class InclusionOutSerializer(ProofOutSerializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="base64")


class ConsistencyOutSerializer(ProofOutSerializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()


class EntriesView(_LedgerView):
    """Entries [start, end) with their exact bytes; at most 1,000 per call."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", int, required=True),
            OpenApiParameter("end", int, required=True, description="exclusive"),
        ],
        responses=EntriesOutSerializer,
    )
    def get(self, request: Request) -> Response:
        params = RangeSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        entries = selectors.entries_range(**params.validated_data)
        return Response(
            {
                "tree_size": selectors.log_size(),
                "entries": [
                    {
                        "index": e.index,
                        "kind": e.kind,
                        "data": b64(bytes(e.data)),
                        "leaf_hash": bytes(e.leaf_hash).hex(),
                        "entry": json.loads(bytes(e.data)),
                    }
                    for e in entries
                ],
            }
        )


class InclusionSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0)
    tree_size = serializers.IntegerField(min_value=1)


class ConsistencySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1)
    second = serializers.IntegerField(min_value=1)


class InclusionProofView(_LedgerView):
    """RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of size `tree_size`."""

    @extend_schema(parameters=[InclusionSerializer], responses=InclusionOutSerializer)
    def get(self, request: Request) -> Response:
        params = InclusionSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        proof = selectors.inclusion_proof(**params.validated_data)
        return Response(
            {
                **params.validated_data,
                "leaf_hash": b64(proof.leaf or b""),
                "hashes": [b64(h) for h in proof.hashes],
                "hashes_hex": [h.hex() for h in proof.hashes],
                "root_hash": b64(proof.root),
            }
        )


class ConsistencyProofView(_LedgerView):
    """RFC 9162 §2.1.4 consistency proof between tree sizes `first` and `second`."""

    @extend_schema(parameters=[ConsistencySerializer], responses=ConsistencyOutSerializer)
    def get(self, request: Request) -> Response:
        params = ConsistencySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        proof = selectors.consistency_proof(**params.validated_data)
        return Response(
            {
                **params.validated_data,
                "hashes": [b64(h) for h in proof.hashes],
                "hashes_hex": [h.hex() for h in proof.hashes],
                "root_hash": b64(proof.root),
            }
        )


class CosignatureSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField(min_value=1)
    cosignature = serializers.CharField(max_length=1000, help_text="A tlog-cosignature line.")


class CosignatureView(_LedgerView):
    """A registered witness pushes its cosignature of a sealed checkpoint."""

    @extend_schema(request=CosignatureSerializer, responses={201: None})
    def post(self, request: Request) -> Response:
        data = CosignatureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cosignature = witnessing.cosignature_submit(
            tree_size=data.validated_data["tree_size"], line=data.validated_data["cosignature"]
        )
        return Response(
            {"witness": str(cosignature.witness), "tree_size": cosignature.block.tree_size},
            status=status.HTTP_201_CREATED,
        )
