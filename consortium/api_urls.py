from django.urls import path

from consortium import api

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", api.TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", api.TokenDetailView.as_view(), name="api-token-detail"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("institutions/", api.InstitutionListView.as_view(), name="api-institutions"),
    path("institutions/<int:pk>/", api.InstitutionDetailView.as_view(), name="api-institution"),
    path(
        "institutions/<int:pk>/memberships/",
        api.InstitutionMembershipsView.as_view(),
        name="api-institution-memberships",
    ),
    path("memberships/", api.MembershipListView.as_view(), name="api-memberships"),
    path("memberships/<int:pk>/", api.MembershipDetailView.as_view(), name="api-membership"),
]
