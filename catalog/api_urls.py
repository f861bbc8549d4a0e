from django.urls import path

from catalog import api

urlpatterns = [
    path("datasets/", api.DatasetListView.as_view(), name="api-datasets"),
    path("datasets/<int:pk>/", api.DatasetDetailView.as_view(), name="api-dataset"),
    path(
        "datasets/<int:pk>/versions/",
        api.DatasetVersionsView.as_view(),
        name="api-dataset-versions",
    ),
    path(
        "datasets/<int:pk>/withdraw/",
        api.DatasetWithdrawView.as_view(),
        name="api-dataset-withdraw",
    ),
    path(
        "datasets/<int:pk>/suspend/", api.DatasetSuspendView.as_view(), name="api-dataset-suspend"
    ),
    path(
        "datasets/<int:pk>/restore/", api.DatasetRestoreView.as_view(), name="api-dataset-restore"
    ),
    path("uploads/<uuid:pk>/", api.UploadDetailView.as_view(), name="api-upload"),
]
