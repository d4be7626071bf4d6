"""Restores: where they may go (targets), who asked and who approved (requests, approvals),
what was copied from where (items), and restore drills that prove it works.

Models hold data and constraints only; behaviour lives in services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from catalog.models import Copy, MediaFile, Project, Volume


class RestoreTarget(models.Model):
    """A named place of a project that restores go to: a folder on a host, or a bucket."""

    class Kind(models.TextChoices):
        FOLDER = "folder", "Folder on a host"
        S3 = "s3", "Object storage bucket"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="restore_targets")
    name = models.CharField(
        max_length=40,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]*$", "Use lower-case letters, digits, - and _.")],
        help_text="editorial, vfx, colour, scratch…",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FOLDER)
    host = models.CharField(max_length=255, blank=True, help_text="Host where the folder is mounted.")
    path = models.CharField(max_length=1024, help_text="Absolute folder path, or s3://bucket/prefix.")
    scratch = models.BooleanField(default=False, help_text="Restore drills write here and clean up after.")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="restore_target_name_unique_in_project"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"


class RestoreRequest(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"  # waiting for approval(s)
        APPROVED = "approved", "Approved"
        # Approved, held until the day(s) of its footage are signed off (Project.restores_wait_for_signoff).
        WAITING = "waiting", "Waiting for sign-off"
        REJECTED = "rejected", "Rejected"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        VERIFIED = "verified", "Verified"  # every file restored and read back correct
        FAILED = "failed", "Failed"  # stopped, or some files could not be restored
        WITHDRAWN = "withdrawn", "Withdrawn by the requester"  # before any decision
        EXPIRED = "expired", "Expired without a decision"  # REELVAULT_RESTORE_REQUEST_TTL_HOURS

    FINISHED = (State.REJECTED, State.VERIFIED, State.FAILED, State.WITHDRAWN, State.EXPIRED)
    ACTIVE = (State.QUEUED, State.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="restores")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="restore_requests"
    )
    target = models.ForeignKey(RestoreTarget, on_delete=models.PROTECT, related_name="requests")
    reason = models.TextField()
    selection = models.JSONField(
        default=dict,
        help_text='What was asked for: {"clips": [...]}, {"scene": ...}, {"day": ...}, {"card": ...}.',
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    size_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    is_drill = models.BooleanField(default=False)
    source_tier = models.CharField(
        max_length=5,
        blank=True,
        choices=Volume.Tier.choices,
        help_text="Drills: restore only from this tier.",
    )
    excluded_volume_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Scenario drills: copies on these volumes are treated as gone, for this restore only.",
    )
    folder = models.CharField(
        max_length=255, blank=True, help_text="Folder of this restore inside the target."
    )
    host = models.CharField(max_length=255, blank=True, help_text="Host whose worker runs the job.")

    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the runner.")
    attempts = models.PositiveSmallIntegerField(default=0)

    # Live progress, written by the runner at most a few times a second.
    files_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_per_second = models.FloatField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    current_file = models.CharField(max_length=1024, blank=True)
    seconds = models.FloatField(default=0, help_text="Time spent copying and verifying (all runs).")
    error = models.TextField(blank=True)
    mhl_generation = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "state"], name="restore_project_state")]

    def __str__(self) -> str:
        return f"restore {self.pk} to {self.target.name} ({self.state})"

    @property
    def needs_second_approval(self) -> bool:
        return self.required_approvals > 1

    @property
    def percent(self) -> int:
        return int(100 * self.bytes_done / self.size_bytes) if self.size_bytes else 0


class RestoreApproval(models.Model):
    """One approver's decision on a request. Nobody decides twice on one request."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(RestoreRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="one_decision_per_approver"),
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} restore {self.request_id}"


class RestoreItem(models.Model):
    """One file of a restore: where it goes, which copy it came from, how it ended."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"  # at the target, read back and matching the catalog hash
        FAILED = "failed", "Failed"  # no copy could be restored (see error and tries)

    request = models.ForeignKey(RestoreRequest, on_delete=models.CASCADE, related_name="items")
    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, related_name="restore_items")
    path = models.CharField(max_length=1024, help_text="Path at the target, relative to the restore folder.")
    size = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    source_copy = models.ForeignKey(
        Copy, on_delete=models.SET_NULL, null=True, blank=True, related_name="restore_items"
    )
    tries = models.JSONField(default=list, help_text="Each copy tried: volume, outcome, message.")
    error = models.TextField(blank=True)
    seconds = models.FloatField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "path"]
        constraints = [
            models.UniqueConstraint(fields=["request", "media_file"], name="one_item_per_file"),
            models.UniqueConstraint(fields=["request", "path"], name="one_item_per_target_path"),
        ]

    def __str__(self) -> str:
        return f"{self.path}: {self.state}"


class DrillScenario(models.TextChoices):
    SAMPLE = "sample", "Random sample of one tier"
    CARD_CORRUPTION = "card_corruption", "Card corruption (first copy unreadable)"
    TIER_LOSS = "tier_loss", "Loss of a tier or site"
    LOCAL_FAILURE = "local_failure", "Complete local failure (only off-site copies)"


class DrillSchedule(models.Model):
    """How often one drill scenario of a project is rehearsed, and with what (Celery beat checks it).

    A project may have several: e.g. a weekly card-corruption drill and a
    monthly loss of the hot tier. Each drill it starts points back at it.
    """

    class DayRule(models.TextChoices):
        LATEST = "latest", "The latest shoot day"
        ROTATE = "rotate", "Each shoot day in turn"
        RANDOM = "random", "A random shoot day"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drill_schedules")
    scenario = models.CharField(max_length=20, choices=DrillScenario.choices, default=DrillScenario.SAMPLE)
    tier = models.CharField(
        max_length=5, choices=Volume.Tier.choices, blank=True, help_text="Loss of a tier: which one."
    )
    site = models.CharField(
        max_length=255, blank=True, help_text="Loss of a site: the host whose volumes go."
    )
    day_rule = models.CharField(
        max_length=10,
        choices=DayRule.choices,
        default=DayRule.LATEST,
        help_text="Which shoot day a tier-loss or local-failure drill restores.",
    )
    enabled = models.BooleanField(default=True)
    interval_hours = models.PositiveIntegerField(default=24 * 7)
    sample_clips = models.PositiveSmallIntegerField(default=3)
    last_error = models.TextField(blank=True, help_text="Why the last due drill could not start.")

    class Meta:
        ordering = ["project", "scenario", "tier", "site"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "scenario", "tier", "site"], name="one_drill_schedule_per_scenario"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scenario} drills of {self.project} every {self.interval_hours} h"

    @property
    def every(self) -> str:
        """The interval as a person says it: every week, every 30 days, every 12 h."""
        hours = self.interval_hours
        if hours % (24 * 7) == 0:
            weeks = hours // (24 * 7)
            return "every week" if weeks == 1 else f"every {weeks} weeks"
        if hours % 24 == 0:
            return "every day" if hours == 24 else f"every {hours // 24} days"
        return f"every {hours} h"


class RestoreDrill(models.Model):
    """A rehearsal: a random sample restored from one tier to a scratch target, timed, then removed."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "On demand"

    Scenario = DrillScenario

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="restore_drills")
    tier = models.CharField(
        max_length=5, choices=Volume.Tier.choices, blank=True, help_text="Sample drills: the tier sampled."
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    request = models.OneToOneField(
        RestoreRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="drill"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    clips = models.JSONField(default=list, help_text="Names of the sampled clips.")
    bytes = models.BigIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True, help_text="Time to restore, from queue to verified.")
    mb_per_second = models.FloatField(null=True, blank=True)
    cleaned = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Scenario drills (restore/services/drills.py): what is treated as gone, and what that left.
    scenario = models.CharField(max_length=20, choices=Scenario.choices, default=Scenario.SAMPLE)
    lost = models.CharField(max_length=300, blank=True, help_text="What the scenario treats as gone.")
    day = models.ForeignKey(
        "catalog.ShootDay", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unrecoverable = models.JSONField(
        default=list, blank=True, help_text="Clips with no copy outside what was lost: a policy hole."
    )
    unrecoverable_files = models.PositiveIntegerField(default=0)
    per_tier = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"warm": {"files": n, "bytes": n, "seconds": s, "mb_per_second": r}}',
    )
    expected_seconds = models.FloatField(
        null=True, blank=True, help_text="The runbook's expected time for these bytes (from earlier drills)."
    )
    over_time = models.BooleanField(default=False)
    schedule = models.ForeignKey(
        DrillSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="drills"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "tier", "state"], name="drill_project_tier_state")]

    def __str__(self) -> str:
        return f"drill {self.pk} of {self.project} ({self.tier}, {self.state})"
