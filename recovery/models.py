"""Incidents with lessons learned, and the runbook sections those lessons edit.

- ``Incident``: something went wrong (opened from an alert, or by hand): its
  cause, impact, people, resolution; a timeline of ``IncidentEvent`` rows.
- ``Lesson``: what was learned, with the action taken; an action may edit a
  tier's runbook section.
- ``RunbookSection`` / ``RunbookVersion``: what people wrote on top of the
  generated runbook for one tier of a project; every change is a new version
  that remembers the incident and lesson it came from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from alerts.models import Alert
from catalog.models import Project, Volume


class Incident(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Cause(models.TextChoices):
        CARD = "card", "Card corruption or failure"
        DRIVE = "drive", "Drive or RAID failure"
        SHIPPING = "shipping", "Lost or late shuttle"
        PEOPLE = "people", "Human error"
        SOFTWARE = "software", "Software"
        SITE = "site", "Site, power or network"
        OTHER = "other", "Other or unknown"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="incidents")
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    cause = models.CharField(max_length=10, choices=Cause.choices, default=Cause.OTHER)
    summary = models.TextField(blank=True)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="incidents")
    volumes = models.ManyToManyField(
        Volume,
        blank=True,
        related_name="incidents",
        help_text="Volumes involved: restores, handoffs and audits of them join the timeline.",
    )
    clips_affected = models.PositiveIntegerField(default=0)
    days_affected = models.CharField(max_length=200, blank=True, help_text="Shoot days, e.g. 3, 4")
    hours_lost = models.FloatField(default=0)
    impact = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="resolved") | models.Q(resolved_at__isnull=False),
                name="resolved_incident_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"incident {self.pk}: {self.title}"


class IncidentEvent(models.Model):
    """One line of an incident's timeline: a note, or what the system did (alert, restore, audit)."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        ALERT = "alert", "Alert"
        LESSON = "lesson", "Lesson"
        STATE = "state", "State"
        RESTORE = "restore", "Restore"
        CUSTODY = "custody", "Custody"
        FIXITY = "fixity", "Fixity audit"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    link = models.CharField(max_length=500, blank=True)
    # Not a foreign key: the audit table is append-only and guarded by triggers; a key into it
    # would add referential triggers there (and the tamper tests delete entries on purpose).
    audit_event_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The audit entry this line was added from automatically (restores, handoffs, audits).",
    )

    class Meta:
        ordering = ["incident", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "audit_event_id"],
                condition=models.Q(audit_event_id__isnull=False),
                name="one_timeline_line_per_audit_entry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:60]}"


class Lesson(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="lessons")
    text = models.TextField(help_text="What was learned.")
    action = models.TextField(blank=True, help_text="What is done about it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident", "created_at", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class RunbookSection(models.Model):
    """The current text people wrote for one tier of a project's runbook (see RunbookVersion)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runbook_sections")
    tier = models.CharField(max_length=5, choices=Volume.Tier.choices)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "tier"], name="one_runbook_section_per_tier")
        ]

    def __str__(self) -> str:
        return f"{self.project} runbook, {self.tier} tier, version {self.version}"


class RunbookVersion(models.Model):
    """One version of a runbook section: the whole text, who changed it, and why."""

    section = models.ForeignKey(RunbookSection, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    who = models.TextField(blank=True, help_text="Who is responsible for this tier's recovery.")
    steps = models.TextField(blank=True, help_text="Extra steps, one a line.")
    notes = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="runbook_versions"
    )
    lesson = models.ForeignKey(
        Lesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="runbook_versions"
    )

    class Meta:
        ordering = ["section", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["section", "version"], name="one_runbook_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.section}: version {self.version}"


class Checklist(models.Model):
    """A project's checklist for one role (before formatting a card, end-of-day wrap, shipping a shuttle…)."""

    class Kind(models.TextChoices):
        WRAP = "wrap", "End-of-day wrap"
        FORMAT = "format", "Before formatting a card"
        SHIPPING = "shipping", "Shipping a shuttle"
        OTHER = "other", "Other"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checklists")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    role = models.CharField(
        max_length=20, blank=True, help_text="Role who completes it; empty: any crew role."
    )
    required_for_signoff = models.BooleanField(
        default=False, help_text="A day cannot be signed off until this checklist is completed for it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="checklist_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=300)

    class Meta:
        ordering = ["checklist", "position"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "position"], name="one_checklist_item_per_position")
        ]

    def __str__(self) -> str:
        return self.text


class ChecklistRun(models.Model):
    """One completion of a checklist (for a shoot day, when it is about one): who, when, every item ticked."""

    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="runs")
    day = models.ForeignKey(
        "catalog.ShootDay", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField()
    items = models.JSONField(default=list, help_text="The items as they read when ticked.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-completed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.checklist} completed {self.completed_at:%Y-%m-%d %H:%M}"


class PracticeScenario(models.Model):
    """Something broken on purpose in a practice project, and how long the trainee took to recover it.

    Recovered when its condition holds again (see ``recovery.services.practice_check``): the corrupt
    copy is verified again; every file of the failed drive has a verified copy on another drive of
    its tier that is not failing; the missing shuttle is online again.
    """

    class Kind(models.TextChoices):
        CORRUPT_COPY = "corrupt_copy", "Corrupted card copy"
        FAILED_DRIVE = "failed_drive", "Failed drive"
        MISSING_SHUTTLE = "missing_shuttle", "Missing shuttle"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="practice_scenarios")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    hint = models.TextField(blank=True, help_text="What the trainee is told.")
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE, related_name="+")
    media_file = models.ForeignKey(
        "catalog.MediaFile", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    broken_at = models.DateTimeField()
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_by = models.CharField(
        max_length=300, blank=True, help_text="Who acted on it between the break and the fix (audit log)."
    )
    resets = models.PositiveIntegerField(default=0, help_text="How often it was broken again to practise.")

    class Meta:
        ordering = ["project", "broken_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="one_practice_scenario_per_kind")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def seconds_to_recover(self) -> float | None:
        if self.recovered_at is None:
            return None
        return (self.recovered_at - self.broken_at).total_seconds()
