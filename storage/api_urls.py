from django.urls import path

from storage import api

urlpatterns = [
    path("nodes/", api.NodeListView.as_view(), name="api-storage-nodes"),
    path("nodes/<int:pk>/", api.NodeDetailView.as_view(), name="api-storage-node"),
    path("table1/", api.Table1View.as_view(), name="api-storage-table1"),
]
