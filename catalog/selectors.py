"""Catalog reads. Every list is scoped to the projects the user may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from catalog.models import AuditEvent, Clip, Copy, DaySignOff, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser, Cap, projects_for


def project_list(*, user: AnyUser) -> QuerySet[Project]:
    return projects_for(user, Cap.VIEW).annotate(
        clip_count=Count("clips", distinct=True), volume_count=Count("volumes", distinct=True)
    )


def clip_list(*, user: AnyUser) -> QuerySet[Clip]:
    return Clip.objects.filter(project__in=projects_for(user, Cap.VIEW)).select_related("project", "day")


def volume_list(*, user: AnyUser) -> QuerySet[Volume]:
    return Volume.objects.filter(project__in=projects_for(user, Cap.VIEW)).select_related("project")


def file_copies(*, media_file: MediaFile) -> QuerySet[Copy]:
    """Where is every copy of this file, and when was each last proven good? One query."""
    return (
        Copy.objects.filter(media_file=media_file)
        .select_related("volume")
        .order_by("volume__tier", "-verified_at")
    )


def clip_files_with_copies(*, clip: Clip) -> QuerySet[MediaFile]:
    """The clip's files, each with its copies and their volumes (two queries in all)."""
    from django.db.models import Prefetch

    return clip.files.prefetch_related(
        Prefetch("copies", queryset=Copy.objects.select_related("volume").order_by("volume__label"))
    )


def verified_copy_count(*, media_file: MediaFile) -> int:
    return media_file.copies.filter(state=Copy.State.VERIFIED).values("volume").distinct().count()


def audit_list(*, user: AnyUser) -> QuerySet[AuditEvent]:
    """Audit entries of the projects where the user may read the audit log.

    Entries with no project (system-wide) are visible to superusers only.
    """
    visible = Q(project__in=projects_for(user, Cap.VIEW_AUDIT))
    if getattr(user, "is_superuser", False):
        visible |= Q(project__isnull=True)
    return AuditEvent.objects.filter(visible).order_by("-id")


def object_history(*, object_type: str, object_id: str) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type=object_type, object_id=object_id).order_by("-id")


def day_signed_off(*, day: ShootDay | int | None) -> bool:
    """Is the day signed off (its footage released to editorial, its cards for reformat)? One query.

    A clip without a day is never signed off.
    """
    if day is None:
        return False
    day_id = day if isinstance(day, int) else day.pk
    latest = DaySignOff.objects.filter(day_id=day_id).order_by("-at", "-id").values_list("action", flat=True)
    return latest.first() == DaySignOff.Action.SIGN_OFF


def signed_off_day_ids(*, day_ids: Iterable[int | None]) -> set[int]:
    """Which of these days are signed off, in one query (for lists of clips)."""
    ids = {day_id for day_id in day_ids if day_id is not None}
    if not ids:
        return set()
    latest = (
        DaySignOff.objects.filter(day_id__in=ids)
        .order_by("day_id", "-at", "-id")
        .distinct("day_id")
        .values_list("day_id", "action")
    )
    return {day_id for day_id, action in latest if action == DaySignOff.Action.SIGN_OFF}
