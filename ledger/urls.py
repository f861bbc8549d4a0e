from django.urls import path

from ledger import views

urlpatterns = [
    path("", views.overview, name="ledger"),
    path("blocks/<int:height>/", views.block_detail, name="ledger-block"),
    path("entries/<int:index>/", views.entry_detail, name="ledger-entry"),
    path("witnesses/new/", views.witness_new, name="ledger-witness-new"),
    path("datasets/<str:dataset>/", views.dataset_history, name="ledger-dataset"),
]
