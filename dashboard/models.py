"""The producer's view: day sign-offs, expected cards, daily reports and who gets them.

Models hold data and constraints only; behaviour lives in services.py
(writes) and selectors.py (reads).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from catalog.models import Project, ShootDay


class ExpectedCard(models.Model):
    """A card (camera roll) a camera report says was shot on a day: the dashboard shows those missing."""

    day = models.ForeignKey(ShootDay, on_delete=models.CASCADE, related_name="expected_cards")
    label = models.CharField(max_length=64, help_text="Roll / card name as the camera report writes it.")
    camera = models.CharField(max_length=20, blank=True)
    clips = models.PositiveIntegerField(default=0, help_text="Takes the report lists on it.")
    source = models.CharField(max_length=255, blank=True, help_text="The report it came from.")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "label"]
        constraints = [
            models.UniqueConstraint("day", Upper("label"), name="expected_card_unique_in_day_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.label} expected on {self.day}"


class DailyReport(models.Model):
    """A project's daily status report for one calendar date: figures, rendered HTML and PDF."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "On demand"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="daily_reports")
    report_date = models.DateField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(help_text="The report's content as JSON (what the HTML and PDF show).")
    html = models.TextField()
    pdf = models.BinaryField()

    class Meta:
        ordering = ["project", "-report_date"]
        constraints = [
            models.UniqueConstraint(fields=["project", "report_date"], name="one_daily_report_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.project} daily report {self.report_date}"


class ReportSubscription(models.Model):
    """A member who receives the project's daily report by email."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="report_subscriptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_subscription_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user} gets {self.project} daily reports"
