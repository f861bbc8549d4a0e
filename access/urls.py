from django.urls import path

from access import views

urlpatterns = [
    path("requests/", views.my_requests, name="access-requests"),
    path("requests/<int:pk>/", views.request_detail, name="access-request"),
    path("requests/<int:pk>/clear/", views.request_clear, name="access-request-clear"),
    path("requests/<int:pk>/reject/", views.request_reject, name="access-request-reject"),
    path("requests/<int:pk>/approve/", views.request_approve, name="access-request-approve"),
    path("requests/<int:pk>/deny/", views.request_deny, name="access-request-deny"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="access-request-withdraw"),
    path("moderation/", views.moderation_queue, name="access-moderation"),
    path("decisions/", views.decisions, name="access-decisions"),
    path("datasets/<int:pk>/request/", views.request_new, name="access-request-new"),
    path("datasets/<int:pk>/filter-check/", views.filter_check, name="access-filter-check"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:pk>/download/", views.grant_download, name="grant-download"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("notifications/", views.notifications, name="notifications"),
]
