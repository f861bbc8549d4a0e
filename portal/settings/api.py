"""The REST API: Django REST framework, the OpenAPI schema (drf-spectacular), token lifetime."""

from portal.settings.env import env
from portal.settings.security import BIZI_TRUSTED_PROXIES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "consortium.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view that wants less must say so.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # X-Forwarded-For is believed only this far (see BIZI_TRUSTED_PROXIES).
    "NUM_PROXIES": BIZI_TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BIZi portal API",
    "DESCRIPTION": "Publish, request and prove access to consortium datasets.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`; give each choice set its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DatasetStatusEnum": "catalog.models.Dataset.Status",
        "StorageNodeStatusEnum": "storage.models.StorageNode.Status",
        "AccessRequestStateEnum": "access.models.AccessRequest.State",
        "DatasetUploadStateEnum": "catalog.models.DatasetUpload.State",
    },
}
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24 * 30)
