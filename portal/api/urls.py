"""`/api/v1/`: each app's endpoints under the paths SPEC.md fixes."""

from django.urls import include, path

urlpatterns = [
    path("", include("consortium.api_urls")),
    path("ledger/", include("ledger.api_urls")),
    path("storage/", include("storage.api_urls")),
    path("", include("catalog.api_urls")),
    path("", include("access.api_urls")),
    path("surveys/", include("surveys.api_urls")),
]
