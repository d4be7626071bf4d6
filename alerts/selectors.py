"""Notification and alert reads: one's own notifications, and the alerts of one's projects."""

from __future__ import annotations

from django.db.models import QuerySet

from alerts.models import Alert, Notification
from catalog.permissions import AnyUser, Cap, projects_for


def notification_list(*, user: AnyUser) -> QuerySet[Notification]:
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk).select_related("project")


def unread_count(*, user: AnyUser) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()


def alert_list(*, user: AnyUser) -> QuerySet[Alert]:
    """Alerts of every project the user is a member of, most recent first."""
    return Alert.objects.filter(project__in=projects_for(user, Cap.VIEW)).select_related(
        "project", "acknowledged_by", "resolved_by"
    )
