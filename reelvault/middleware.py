"""Request guards that sit in front of every page and API call.

- NUL bytes are refused with 400: PostgreSQL text cannot hold them, so a
  `%00` in a query parameter or a JSON string reached the database and
  answered 500.
- The Content-Security-Policy of ``REELVAULT_CSP`` goes on every answer.
- A database that does not answer, or a broker that does not take a job,
  gives 503 with the app's wording (pages)
  or `{"detail": …}` (API), never a 500 and a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from core.queues import QueueUnavailable

DATABASE_DOWN = (
    "The catalog database is not answering, so Reelvault cannot serve this page right now. "
    "Nothing was changed. Try again in a minute; if it persists, an administrator should check "
    "PostgreSQL (GET /healthz names the failing part)."
)
NUL_REFUSED = "The request contains a NUL byte (\\u0000), which no field accepts."
_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if request.content_type not in _TEXT_BODIES:
        return False  # uploads (ALE, reports) are checked by their parsers, with a message per line
    body = request.body
    return b"\x00" in body or b"\\u0000" in body or b"%00" in body


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def unavailable_response(request: HttpRequest, message: str, *, title: str) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": message}, status=503, headers={"Retry-After": "30"})
    # No RequestContext: the context processors would ask the database for the user again.
    html = render_to_string("503.html", {"user": AnonymousUser(), "message": message, "title": title})
    return HttpResponse(html, status=503, headers={"Retry-After": "30"})


def _unavailable(request: HttpRequest, exception: BaseException | None) -> HttpResponse | None:
    if isinstance(exception, OperationalError | InterfaceError):
        return unavailable_response(request, DATABASE_DOWN, title="The catalog is unavailable")
    if isinstance(exception, QueueUnavailable):
        message = f"{str(exception)[:1].upper()}{str(exception)[1:]}."
        return unavailable_response(request, message, title="The job queue is unavailable")
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a database outage met outside a view (session save, auth) is a 503 too."""
    unavailable = _unavailable(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if _is_api(request):
                return JsonResponse({"detail": NUL_REFUSED}, status=400)
            return HttpResponse(NUL_REFUSED, status=400, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        if settings.REELVAULT_CSP and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.REELVAULT_CSP
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return _unavailable(request, exception)
