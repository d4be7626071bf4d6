"""Notifications and alerts.

- ``Notification``: one row per user per event, shown in the app and delivered
  by email (``alerts.services.notify``).
- ``Alert``: one row per *problem* (a card that did not offload, a volume with
  corrupt copies, a day short of its storage policy…), identified by its
  de-duplication ``key``. Raising the same problem again while the alert is not
  resolved only counts an occurrence; a resolved problem that comes back opens
  a new alert. Its life: open → acknowledged → resolved, and an open alert
  nobody acknowledged within ``REELVAULT_ALERT_ESCALATE_SECONDS`` is escalated
  to the project's admins once.
- ``AlertDelivery``: one webhook message (Slack-compatible JSON) about an alert
  event, claimed before sending so it is posted once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Project


class Severity(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Alert(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    Severity = Severity

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    key = models.CharField(
        max_length=200, help_text="Identifies the problem: raising it again adds an occurrence."
    )
    kind = models.CharField(max_length=60, help_text="transfer.failed, copy.corrupt, policy.gap, …")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="Path of the page about the problem.")
    details = models.JSONField(
        default=dict, blank=True, help_text='What it concerns: {"items": [...], "item_count": n, …}.'
    )
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledge_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True, help_text="How it ended; empty while unresolved.")
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            # One alert per problem: at most one unresolved alert per key. Two
            # workers raising the same problem at once cannot both insert.
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(state="resolved"), name="one_unresolved_alert_per_key"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="resolved") | models.Q(resolved_at__isnull=False),
                name="resolved_alert_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "state"], name="alert_project_state"),
            models.Index(fields=["state", "escalated_at", "first_seen_at"], name="alert_escalation"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.title} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state != self.State.RESOLVED


class Notification(models.Model):
    Level = Severity

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    alert = models.ForeignKey(
        Alert,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        help_text="The alert this notification announces, if any.",
    )
    kind = models.CharField(max_length=60, blank=True, help_text="What happened, e.g. restore.approved.")
    level = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="Path of the page to look at.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Email delivery: claimed (emailing_at) before sending so two deliverers
    # never send the same message twice; emailed_at once the server took it.
    emailing_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["emailed_at", "created_at"], name="notification_email_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.subject}"


class AlertDelivery(models.Model):
    """One webhook message about an alert event (raised, escalated, resolved)."""

    class Event(models.TextChoices):
        RAISED = "raised", "Raised"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, choices=Event.choices)
    url = models.CharField(max_length=1000)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sent_at", "created_at"], name="alert_delivery_pending")]

    def __str__(self) -> str:
        return f"{self.event} of alert {self.alert_id} to {self.url}"
