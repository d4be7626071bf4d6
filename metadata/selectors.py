"""Metadata reads: the review queue as the page and the API list it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db.models import QuerySet

from catalog.models import Project
from catalog.permissions import AnyUser, projects_for
from metadata.filters import ReviewItemFilter
from metadata.models import ReviewItem

#: The queue's order: clip by clip, then by rule.
QUEUE_ORDER = ("clip__name", "kind", "id")


def review_item_list(
    *,
    user: AnyUser,
    project: Project | None = None,
    params: Mapping[str, str] | None = None,
    ordering: Sequence[str] = QUEUE_ORDER,
) -> QuerySet[ReviewItem]:
    """Review items of the projects the user may see (of ``project`` only, when given), filtered.

    ``params`` are :class:`metadata.filters.ReviewItemFilter` parameters; values that
    do not parse are ignored (the API validates them first, through its filter backend).
    Everything the page and the API show of an item is loaded with it.
    """
    items = ReviewItem.objects.filter(project__in=projects_for(user)).select_related(
        "project", "clip", "clip__card", "clip__day", "media_file", "resolved_by"
    )
    if project is not None:
        items = items.filter(project=project)
    if params is not None:
        items = ReviewItemFilter(params, queryset=items).qs
    return items.order_by(*ordering)
