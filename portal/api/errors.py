"""One JSON shape for every API error, whatever raised it:

    {"status": 400, "code": "invalid", "detail": "…", "fields": {"lei": ["…"]}}

`fields` is present only for validation errors and names each input at fault.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import DomainError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this address takes."
    default_code = "too_large"


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        # An upload past CATALOG_MAX_UPLOAD_BYTES says so; a body past
        # DATA_UPLOAD_MAX_MEMORY_SIZE gets the general message.
        from catalog.uploads import UploadTooLarge

        return PayloadTooLarge(str(exc) if isinstance(exc, UploadTooLarge) else None)
    if isinstance(exc, SuspiciousOperation):  # too many fields or files in a form
        return exceptions.ParseError(str(exc) or None)
    if isinstance(exc, DomainError):
        return exceptions.ValidationError(
            {exc.field or "non_field_errors": exc.messages}, code=exc.code
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or None)
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    details = exc.details if isinstance(exc, DomainError) else None
    exc = _as_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handler answer (in JSON for /api/)
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["detail"] = "Some of what you sent is not valid; see fields."
        data = exc.detail
        body["fields"] = data if isinstance(data, dict) else {"non_field_errors": data}
        if response.status_code != status.HTTP_400_BAD_REQUEST:
            body["detail"] = str(data)
        if details:
            body["problems"] = details
    else:
        detail = getattr(exc, "detail", None)
        body["code"] = getattr(detail, "code", None) or "error"
        body["detail"] = str(detail) if detail is not None else response.status_text
    response.data = body
    retry_after = getattr(exc, "retry_after", None)  # a lockout (portal/lockout.py)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
