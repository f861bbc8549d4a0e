"""Lockout after repeated failed sign-ins (django-axes), answered as the rest of the portal answers.

Axes counts failures per username and per client address (`portal.clientip`) on every path
that calls `authenticate()` with a request: the sign-in page, the admin's and
`POST /api/v1/auth/token/`. Once either reaches `AXES_FAILURE_LIMIT`, sign-in from it is
refused for `AXES_COOLOFF_TIME`, whatever the password. The refusal is 429 with a
`Retry-After`: a page for people, the API's one error shape under `/api/`.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.exceptions import APIException

STATUS = 429


def _cool_off_seconds(request: Any) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_message(request: Any) -> str:
    seconds = _cool_off_seconds(request)
    if not seconds:
        return "Too many failed sign-in attempts: sign-in is locked. Ask a moderator to unlock it."
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-in attempts: sign-in is paused for {minutes} {unit}. "
        "Try again after that, or reset your password."
    )


class LockedOut(APIException):
    """Raised by the token endpoint, so DRF's handler gives it the API's error shape."""

    status_code = STATUS
    default_code = "locked_out"

    def __init__(self, request: Any) -> None:
        super().__init__(lockout_message(request), code="locked_out")
        self.retry_after = _cool_off_seconds(request)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """`AXES_LOCKOUT_CALLABLE`: what a locked-out sign-in gets instead of the page it posted to."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"status": STATUS, "code": "locked_out", "detail": message}, status=STATUS
        )
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"message": message, "status": STATUS},
            status=STATUS,
        )
    seconds = _cool_off_seconds(request)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, first of AUTHENTICATION_BACKENDS. Lockout is about requests: a call of
    `authenticate()` without one (a management command, a test client's `login()`) is not
    counted here rather than refused."""

    def authenticate(self, request: Any, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
