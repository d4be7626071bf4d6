"""Records where each request comes from, for the audit log."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.auditsource import audit_source


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn
        # --forwarded-allow-ips); X-Forwarded-For is client-controlled.
        with audit_source(f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}"):
            return self.get_response(request)
