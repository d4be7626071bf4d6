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


def _queues(*, database_ok: bool, broker_ok: bool) -> dict[str, object]:
    """Each host queue: the workers serving it and how many jobs wait on it (counts only, no data)."""
    if not broker_ok:
        return {}
    from dashboard.waiting import host_queues, queues_served, waiting_jobs

    served = queues_served()
    if served is None:
        return {}
    jobs = waiting_jobs() if database_ok else []
    return {queue.name: queue.as_json() for queue in host_queues(served=served, jobs=jobs)}


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, broker and a worker all answer; 503 naming what failed.

    ``queues`` lists each host queue with the workers that serve it and the
    jobs waiting on it; a queue with waiting jobs and no worker makes it 503.
    Open to anonymous callers (load balancers, monitors): it reveals only
    up/down, worker names and counts, never data.
    """
    problems = {"database": _check_database(), "broker": _check_broker()}
    problems["worker"] = _check_worker() if problems["broker"] is None else "not checked: broker is down"
    queues = _queues(database_ok=problems["database"] is None, broker_ok=problems["broker"] is None)
    unserved = sorted(name for name, q in queues.items() if not q["served"] and q["waiting"])  # type: ignore[index]
    if unserved:
        problems["queues"] = f"jobs wait on {', '.join(unserved)}, which no worker serves"
    status = {name: ("ok" if problem is None else problem) for name, problem in problems.items()}
    healthy = all(problem is None for problem in problems.values())
    return JsonResponse(
        {"status": "ok" if healthy else "failing", **status, "host_queues": queues},
        status=200 if healthy else 503,
    )
