from django.contrib.auth import views as auth_views
from django.urls import include, path

from consortium import views

urlpatterns = [
    path("", views.home, name="home"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/<slug:slug>/", views.institution_detail, name="institution-detail"),
    path("memberships/<int:pk>/role/", views.membership_role, name="membership-role"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/tokens/", views.tokens, name="tokens"),
    path("accounts/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("accounts/", include("django.contrib.auth.urls")),
]
