"""What the header of every page counts: unread notifications (the bell) and restore requests
awaiting the user's approval.

Both counts come from one query, run only when a page's header asks for them
and at most once per request (the template reads the lazy object several times).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, IntegerField, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from alerts.selectors import notification_list
from catalog.permissions import Cap, projects_for
from restore.selectors import awaiting_approval


class _Count(Subquery):
    template = "(SELECT count(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()


@dataclass(frozen=True)
class HeaderCounts:
    unread: int = 0
    awaiting: int = 0
    approves: bool = False  # the user approves restores on at least one project


def _only_ids(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.order_by().values("pk")


def header_counts(*, user: Any) -> HeaderCounts:
    if not getattr(user, "is_authenticated", False):
        return HeaderCounts()
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            unread=_Count(_only_ids(notification_list(user=user).filter(read_at__isnull=True))),
            awaiting=_Count(_only_ids(awaiting_approval(user=user).distinct())),
            approves=Exists(projects_for(user, Cap.APPROVE_RESTORE)),
        )
        .values("unread", "awaiting", "approves")
        .first()
    )
    return HeaderCounts(**row) if row else HeaderCounts()


def header(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``header.unread``, ``header.awaiting``, ``header.approves``."""

    def counts() -> HeaderCounts:
        cached: HeaderCounts | None = getattr(request, "_reelvault_header", None)
        if cached is None:
            cached = header_counts(user=getattr(request, "user", None))
            request._reelvault_header = cached  # type: ignore[attr-defined]  # per-request cache
        return cached

    return {"header": SimpleLazyObject(counts)}
