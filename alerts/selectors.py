"""Notification and alert reads: one's own notifications, and the alerts of one's projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from alerts.models import Alert, DutyShift, EscalationContact, Notification, NotificationPreference
from catalog.models import Project
from catalog.permissions import AnyUser, Cap, members_with, projects_for


def notification_list(*, user: AnyUser) -> QuerySet[Notification]:
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk).select_related("project")


def unread_count(*, user: AnyUser) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()


def notification_preference(*, user: AnyUser) -> NotificationPreference:
    """The user's choice, or the default (in the app and by email) when they never chose."""
    found = NotificationPreference.objects.filter(user_id=user.pk).first() if user.pk else None
    return found or NotificationPreference(in_app=True, email=True)


def alert_list(*, user: AnyUser) -> QuerySet[Alert]:
    """Alerts of every project the user is a member of, most recent first."""
    return Alert.objects.filter(project__in=projects_for(user, Cap.VIEW)).select_related(
        "project", "acknowledged_by", "resolved_by"
    )


# --- Recovery desk and escalation ladder ------------------------------------------------------


def on_duty(*, project: Project, at: datetime | None = None) -> list[AbstractBaseUser]:
    """The active members of the project on its recovery desk at ``at`` (now), in shift order."""
    at = at or timezone.now()
    user_ids = list(
        DutyShift.objects.filter(
            project=project,
            starts_at__lte=at,
            ends_at__gt=at,
            user__is_active=True,
            user__memberships__project=project,
        )
        .order_by("starts_at", "pk")
        .values_list("user_id", flat=True)
    )
    users = get_user_model().objects.in_bulk(user_ids)
    return [users[pk] for pk in dict.fromkeys(user_ids) if pk in users]


@dataclass(frozen=True)
class LadderStep:
    """One step of the ladder an alert climbs, with the people and addresses it tells."""

    position: int
    name: str
    after_seconds: int
    users: list[AbstractBaseUser]
    emails: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    include_on_duty: bool = False


def escalation_ladder(*, project: Project) -> list[LadderStep]:
    """The project's ladder, first step first; without steps of its own, the default one.

    The default ladder is today's single escalation: the project's admins
    (``Cap.TAKE_ESCALATIONS``; the superusers when it has none) after
    ``REELVAULT_ALERT_ESCALATE_SECONDS``, and no step at all when that is 0.
    """
    steps = list(project.escalation_steps.prefetch_related("contacts__user").order_by("position"))
    if not steps:
        seconds = settings.REELVAULT_ALERT_ESCALATE_SECONDS
        if seconds <= 0:
            return []
        admins = members_with(project, need=Cap.TAKE_ESCALATIONS) or list(
            get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk")
        )
        return [LadderStep(position=1, name="Project admins", after_seconds=seconds, users=admins)]
    ladder = []
    for step in steps:
        contacts: list[EscalationContact] = list(step.contacts.all())
        ladder.append(
            LadderStep(
                position=step.position,
                name=step.name,
                after_seconds=step.after_minutes * 60,
                users=[c.user for c in contacts if c.user is not None and c.user.is_active],
                emails=[c.email for c in contacts if c.user is None and c.email],
                webhooks=[c.webhook_url for c in contacts if c.user is None and c.webhook_url],
                include_on_duty=step.include_on_duty,
            )
        )
    return ladder
