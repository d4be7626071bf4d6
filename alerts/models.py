"""Notifications and alerts.

- ``Notification``: one row per user per event, shown in the app (and emailed
  through the outbox, see ``Delivery``; ``alerts.services.notify``).
- ``Alert``: one row per *problem* (a card that did not offload, a volume with
  corrupt copies, a day short of its storage policy…), identified by its
  de-duplication ``key``. Raising the same problem again while the alert is not
  resolved only counts an occurrence; a resolved problem that comes back opens
  a new alert. Its life: open → acknowledged → resolved, and an open alert
  nobody acknowledged within ``REELVAULT_ALERT_ESCALATE_SECONDS`` is escalated
  to the project's admins once.
- ``Delivery``: the outbox. One message to send: a notification's email, a
  webhook post (Slack-compatible JSON) about an alert event, a daily report's
  email. Claimed (a lease) before sending so it goes out once, retried by a
  sweep until it went out or ran out of attempts (``alerts/outbox.py``).
"""

from __future__ import annotations

from datetime import datetime

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
    escalated_at = models.DateTimeField(null=True, blank=True, help_text="When it last climbed the ladder.")
    escalation_level = models.PositiveSmallIntegerField(
        default=0, help_text="Steps of the escalation ladder climbed so far (0: not escalated)."
    )

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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.user} · {self.subject}"

    def _email(self) -> Delivery | None:
        try:
            return self.email_delivery
        except Delivery.DoesNotExist:
            return None

    @property
    def emailed_at(self) -> datetime | None:
        """When the mail server took its email (None: not yet, or never)."""
        delivery = self._email()
        return delivery.sent_at if delivery is not None else None

    @property
    def email_attempts(self) -> int:
        delivery = self._email()
        return delivery.attempts if delivery is not None else 0

    @property
    def email_error(self) -> str:
        """Why its email did not go out yet (empty once sent)."""
        delivery = self._email()
        return delivery.last_error if delivery is not None else ""


class NotificationPreference(models.Model):
    """How a user wants to be told (no row: in the app and by email, the default)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    in_app = models.BooleanField(
        default=True, help_text="Count new notifications on the bell; off: they are kept as already read."
    )
    email = models.BooleanField(default=True, help_text="Send each notification by email too.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: in app {self.in_app}, email {self.email}"


class Delivery(models.Model):
    """One message in the outbox: an email or a webhook post, sent once by whoever claims it first."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Notification email"
        WEBHOOK = "webhook", "Webhook post"
        REPORT = "report", "Report email"
        CONTACT = "contact", "Email to an outside contact"

    class Event(models.TextChoices):
        """What a webhook post says happened to its alert."""

        RAISED = "raised", "Raised"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    recipient = models.CharField(max_length=1000, help_text="Email address, or the webhook's URL.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="email_delivery"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    event = models.CharField(max_length=10, choices=Event.choices, blank=True)
    payload = models.JSONField(
        default=dict, blank=True, help_text='The webhook\'s JSON; for a report, {"report_id": n}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The lease: taken (sending_at) before sending so two senders never send
    # one message twice; a lease older than the claim timeout was abandoned.
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(help_text="Given up after this many failed attempts.")
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The webhook's HTTP status."
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["sent_at", "created_at"], name="delivery_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} to {self.recipient}"

    @property
    def url(self) -> str:
        """A webhook's URL (the page of an alert lists its webhook posts)."""
        return self.recipient


class EscalationStep(models.Model):
    """One rung of a project's escalation ladder (DIT on duty → data manager → IT support → vendor).

    An open alert nobody acknowledged climbs to step N once ``after_minutes``
    have passed since it was raised (step 1) or since it climbed to step N-1.
    A project without steps uses the default ladder: one step, the project's
    admins, after ``REELVAULT_ALERT_ESCALATE_SECONDS``.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="escalation_steps")
    position = models.PositiveSmallIntegerField(help_text="1 for the first step, climbed first.")
    name = models.CharField(max_length=80, help_text="DIT on duty, data manager, IT support, vendor…")
    after_minutes = models.PositiveIntegerField(
        help_text="Unacknowledged this long since the alert was raised (or climbed the step before)."
    )
    include_on_duty = models.BooleanField(
        default=False, help_text="Also tell whoever is on the recovery desk at that moment."
    )

    class Meta:
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="one_escalation_step_per_position"),
            models.CheckConstraint(condition=models.Q(position__gte=1), name="escalation_position_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.project} step {self.position}: {self.name}"


class EscalationContact(models.Model):
    """Who a step tells: a member of the project, or an outside contact (email and/or webhook, no account)."""

    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=120, blank=True, help_text="An outside contact's name or company.")
    email = models.EmailField(blank=True)
    webhook_url = models.URLField(blank=True, max_length=1000)

    class Meta:
        ordering = ["step", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, email="", webhook_url="")
                    | (models.Q(user__isnull=True) & (~models.Q(email="") | ~models.Q(webhook_url="")))
                ),
                name="escalation_contact_is_member_or_outside",
            )
        ]

    def __str__(self) -> str:
        return str(self.user) if self.user_id else (self.name or self.email or self.webhook_url)


class DutyShift(models.Model):
    """Who staffs a project's recovery desk from when to when, and how to reach them.

    New alerts and restore requests go first to whoever is on duty.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="duty_shifts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reach = models.CharField(max_length=200, blank=True, help_text="Phone, radio channel, room…")

    class Meta:
        ordering = ["project", "starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["project", "starts_at", "ends_at"], name="duty_shift_when")]

    def __str__(self) -> str:
        return f"{self.user} on duty for {self.project}"
