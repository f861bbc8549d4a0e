from django.urls import path

from sharing import views

urlpatterns = [
    path("grants/<int:pk>/profile/", views.profile_download, name="sharing-profile"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="sharing-token-revoke"),
    path("clients/<int:pk>/revoke/", views.client_revoke, name="sharing-client-revoke"),
]
