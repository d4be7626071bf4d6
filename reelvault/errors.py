"""Refusals as a person meets them, and as the log records them.

- ``api_exception_handler`` (DRF's EXCEPTION_HANDLER): an API call answers
  JSON as always; but a browser asking for HTML (the API browser) that is
  refused or sent to nothing gets the app's own 403/404 page, with its
  header and a way back, not a bare "403 Forbidden".
- Its log line is one line: see ``core.log.OneLineRefusals``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

_PAGES = {403: "403.html", 404: "404.html"}


def _wants_html(request: Any) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None:
        return getattr(renderer, "format", "") == "api"
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | HttpResponse | None:
    response = exception_handler(exc, context)
    request: Request | None = context.get("request")
    if response is None or request is None or response.status_code not in _PAGES:
        return response
    if not _wants_html(request) or not request.user.is_authenticated:
        return response  # an anonymous browser is asked to log in by the API browser as before
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    html = render_to_string(
        _PAGES[response.status_code], {"exception": str(detail)}, request=request._request
    )
    return HttpResponse(html, status=response.status_code)
