from django.urls import path

from ledger import api

urlpatterns = [
    path("public-key", api.PublicKeyView.as_view(), name="api-ledger-public-key"),
    path("checkpoint", api.CheckpointView.as_view(), name="api-ledger-checkpoint"),
    path("blocks/", api.BlockListView.as_view(), name="api-ledger-blocks"),
    path("entries/", api.EntriesView.as_view(), name="api-ledger-entries"),
    path("proofs/inclusion/", api.InclusionProofView.as_view(), name="api-ledger-inclusion"),
    path("proofs/consistency/", api.ConsistencyProofView.as_view(), name="api-ledger-consistency"),
    path("cosignatures/", api.CosignatureView.as_view(), name="api-ledger-cosignatures"),
    path("policy", api.PolicyView.as_view(), name="api-ledger-policy"),
    # C2SP tlog-tiles under the prefix /api/v1/ledger/tlog/ (checkpoint, tile/…).
    path("tlog/checkpoint", api.TileCheckpointView.as_view(), name="api-ledger-tlog-checkpoint"),
    path("tlog/tile/<path:path>", api.TileView.as_view(), name="api-ledger-tlog-tile"),
]
