from django.urls import path

from access import api

urlpatterns = [
    path("requests/", api.RequestListView.as_view(), name="api-requests"),
    path("requests/<int:pk>/", api.RequestDetailView.as_view(), name="api-request"),
    path("requests/<int:pk>/clear/", api.RequestClearView.as_view(), name="api-request-clear"),
    path("requests/<int:pk>/reject/", api.RequestRejectView.as_view(), name="api-request-reject"),
    path(
        "requests/<int:pk>/approve/", api.RequestApproveView.as_view(), name="api-request-approve"
    ),
    path("requests/<int:pk>/deny/", api.RequestDenyView.as_view(), name="api-request-deny"),
    path(
        "requests/<int:pk>/withdraw/",
        api.RequestWithdrawView.as_view(),
        name="api-request-withdraw",
    ),
    path("grants/", api.GrantListView.as_view(), name="api-grants"),
    path("grants/<int:pk>/", api.GrantDetailView.as_view(), name="api-grant"),
    path("grants/<int:pk>/revoke/", api.GrantRevokeView.as_view(), name="api-grant-revoke"),
    path("grants/<int:pk>/data/", api.GrantDataView.as_view(), name="api-grant-data"),
    path(
        "grants/<int:pk>/downloads/", api.GrantDownloadsView.as_view(), name="api-grant-downloads"
    ),
    path("grants/<int:pk>/receipt", api.GrantReceiptView.as_view(), name="api-grant-receipt"),
    path(
        "grants/<int:pk>/downloads/<int:download>/receipt",
        api.DownloadReceiptView.as_view(),
        name="api-download-receipt",
    ),
]
