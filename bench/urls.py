"""The portal's URLs plus a bare Django view: the reference the web benchmark compares with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), path("", include("portal.urls"))]
