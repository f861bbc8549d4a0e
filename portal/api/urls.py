from django.urls import include, path

from portal.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", views.TokenDetailView.as_view(), name="api-token-detail"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("institutions/", views.InstitutionListView.as_view(), name="api-institutions"),
    path("institutions/<int:pk>/", views.InstitutionDetailView.as_view(), name="api-institution"),
    path(
        "institutions/<int:pk>/memberships/",
        views.InstitutionMembershipsView.as_view(),
        name="api-institution-memberships",
    ),
    path("memberships/", views.MembershipListView.as_view(), name="api-memberships"),
    path("memberships/<int:pk>/", views.MembershipDetailView.as_view(), name="api-membership"),
    path("ledger/", include("ledger.api_urls")),
    path("storage/", include("storage.api_urls")),
    path("", include("portal.catalog.api_urls")),
    path("", include("portal.access.api_urls")),
    path("surveys/", include("surveys.api_urls")),
]
