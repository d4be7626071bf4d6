"""GET /healthz: database, broker and worker reachability, each named."""

from __future__ import annotations

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, JsonResponse

from reelvault.celery import app


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"database unreachable: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    return None


def _check_broker() -> str | None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises many transport-specific errors
        return f"broker unreachable: {exc}"
    return None


def _check_worker() -> str | None:
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as exc:
        return f"worker ping failed: {exc}"
    if not replies:
        return "no Celery worker answered a ping: start one (make run starts it)"
    return None


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, broker and a worker all answer; 503 naming what failed.

    Open to anonymous callers (load balancers, monitors): it reveals only
    up/down and the failing part, never data.
    """
    problems = {"database": _check_database(), "broker": _check_broker()}
    problems["worker"] = _check_worker() if problems["broker"] is None else "not checked: broker is down"
    status = {name: ("ok" if problem is None else problem) for name, problem in problems.items()}
    healthy = all(problem is None for problem in problems.values())
    return JsonResponse({"status": "ok" if healthy else "failing", **status}, status=200 if healthy else 503)
