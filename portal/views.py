"""The project's own pages: the health check and the error pages every app's errors end in."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from catalog.uploads import UploadTooLarge
from portal import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker heartbeat, for load balancers and people on call."""
    report = health.health_report()
    body = {
        "status": "ok" if report.ok else "degraded",
        "database": report.database,
        "broker": report.broker,
        "worker": report.worker,
        "worker_last_beat": report.worker_last_beat,
    }
    return JsonResponse(body, status=200 if report.database == "ok" else 503)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"status": status, "code": "error", "detail": message}, status=status)
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, UploadTooLarge):  # a suspicious operation, said as what it is
        return _error(request, 413, "Too large", str(exception))
    if isinstance(exception, RequestDataTooBig):  # past DATA_UPLOAD_MAX_MEMORY_SIZE
        return _error(request, 413, "Too large", "The request is larger than this page takes.")
    return _error(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You are not allowed to do this."
    return _error(request, 403, "Not allowed", message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors or the database: either may be what failed.
    if _wants_json(request):
        return JsonResponse(
            {"status": 500, "code": "server_error", "detail": "Something went wrong on our side."},
            status=500,
        )
    return HttpResponse(loader.get_template("500.html").render(), status=500)
