from django.urls import path

from sharing import api

T = "shares/<str:share>/schemas/<str:schema>/tables/<str:table>"

urlpatterns = [
    path("", api.root, name="sharing-root"),
    path("shares", api.shares, name="sharing-shares"),
    path("shares/<str:share>", api.share, name="sharing-share"),
    path("shares/<str:share>/schemas", api.schemas, name="sharing-schemas"),
    path("shares/<str:share>/all-tables", api.all_tables, name="sharing-all-tables"),
    path("shares/<str:share>/schemas/<str:schema>/tables", api.tables, name="sharing-tables"),
    path(f"{T}/version", api.version, name="sharing-version"),
    path(f"{T}/metadata", api.metadata, name="sharing-metadata"),
    path(f"{T}/query", api.query, name="sharing-query"),
    path(f"{T}/changes", api.changes, name="sharing-changes"),
    path("files/<str:file_id>", api.file, name="sharing-file"),
    path("oauth/token", api.oauth_token, name="sharing-oauth-token"),
]
