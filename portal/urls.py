from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("consortium.urls")),
    path("ledger/", include("ledger.urls")),
    path("catalog/", include("catalog.urls")),
    path("access/", include("access.urls")),
    path("surveys/", include("surveys.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api.urls")),
    path("delta-sharing/", include("sharing.urls")),
    path("sharing/", include("sharing.web_urls")),
    path(
        "api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"
    ),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file (no inline script); Swagger UI
        # draws its icons from data: URLs, the one thing this page adds to the policy.
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema",
                permission_classes=[AllowAny],
                template_name="portal/swagger_ui.html",
            )
        ),
        name="api-docs",
    ),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
