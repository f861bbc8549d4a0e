from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.index, name="dashboards"),
    path("usage/", views.usage, name="dashboard-usage"),
    path("usage.csv", views.usage_csv, name="dashboard-usage-csv"),
    path("storage/", views.storage, name="dashboard-storage"),
    path("storage.csv", views.storage_csv, name="dashboard-storage-csv"),
    path("storage/table1/", views.table1_start, name="dashboard-table1-start"),
    path("storage/table1/<int:pk>/", views.table1_status, name="dashboard-table1-status"),
    path("ledger/", views.ledger, name="dashboard-ledger"),
    path("ledger.csv", views.ledger_csv, name="dashboard-ledger-csv"),
]
