"""Fixity audits: how often each tier is re-proven, each volume's audit state, and the audit runs.

Settings live here, not in catalog: ``FixityPolicy`` is a project's frequency
and budget per tier, ``VolumeFixity`` a volume's overrides plus what the
audits learnt about it (unreachable since when, last complete audit, next
run). ``FixityRun`` is one audit of one volume and its report.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from catalog.models import Project, Volume

#: Defaults per tier when a project has not set its own: hot weekly, warm fortnightly, cold quarterly.
DEFAULT_EVERY_DAYS = {Volume.Tier.HOT: 7, Volume.Tier.WARM: 14, Volume.Tier.COLD: 90}
#: Unreachable this long (hours) raises an alert: a RAID should always answer, a vault drive rarely does.
DEFAULT_UNREACHABLE_HOURS = {Volume.Tier.HOT: 24, Volume.Tier.WARM: 72, Volume.Tier.COLD: 24 * 30}
DEFAULT_BUDGET_BYTES = 500 * 10**9
DEFAULT_BUDGET_MINUTES = 120


class FixityPolicy(models.Model):
    """A project's audit frequency, budget per run and unreachable threshold for one tier."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="fixity_policies")
    tier = models.CharField(max_length=5, choices=Volume.Tier.choices)
    every_days = models.PositiveIntegerField(help_text="Every copy is re-proven at least this often.")
    budget_bytes = models.BigIntegerField(
        default=DEFAULT_BUDGET_BYTES, help_text="At most this many bytes per scheduled run (0: no limit)."
    )
    budget_minutes = models.PositiveIntegerField(
        default=DEFAULT_BUDGET_MINUTES, help_text="At most this long per scheduled run (0: no limit)."
    )
    unreachable_alert_hours = models.PositiveIntegerField(
        help_text="A volume unreachable this long (and not expected offline) raises an alert."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "tier"], name="fixity_policy_per_tier")]

    def __str__(self) -> str:
        return f"{self.project} {self.tier}: every {self.every_days} days"


class VolumeFixity(models.Model):
    """One volume's overrides of its tier's policy, and what audits know about it."""

    volume = models.OneToOneField(Volume, on_delete=models.CASCADE, primary_key=True, related_name="fixity")
    every_days = models.PositiveIntegerField(null=True, blank=True, help_text="Overrides the tier's.")
    budget_bytes = models.BigIntegerField(null=True, blank=True, help_text="Overrides the tier's.")
    budget_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Overrides the tier's.")

    class Check(models.TextChoices):
        READ = "read", "Read every copy back and hash it"
        STORED = "stored", "Buckets: compare the stored checksum (HEAD), read back on a slower schedule"

    check_mode = models.CharField(
        max_length=8,
        choices=Check.choices,
        default=Check.READ,
        help_text="Buckets only. The stored checksum proves the object is still there, unchanged as "
        "far as the store's own records go; only a read-back proves its bytes.",
    )
    read_back_every_days = models.PositiveIntegerField(
        default=365, help_text="With the stored checksum: a full read-back audit at least this often."
    )
    last_read_back_at = models.DateTimeField(
        null=True, blank=True, help_text="When a full read-back audit last finished."
    )
    unreachable_since = models.DateTimeField(null=True, blank=True)
    unreachable_host = models.CharField(max_length=255, blank=True)
    unreachable_reason = models.TextField(blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_complete_at = models.DateTimeField(
        null=True, blank=True, help_text="When every copy on it had last been proven within its period."
    )
    next_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "volume fixity"

    def __str__(self) -> str:
        return f"fixity of {self.volume_id}"


class FixityRun(models.Model):
    """One audit of one volume: what it planned to check, how far it got, what it found."""

    class Kind(models.TextChoices):
        INCREMENTAL = "incremental", "Incremental (oldest proofs first, within a budget)"
        FULL = "full", "Full"
        SAMPLE = "sample", "Sample"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        INTERRUPTED = "interrupted", "Interrupted (the volume went away)"
        UNREACHABLE = "unreachable", "Volume unreachable"
        FAILED = "failed", "Failed"

    ACTIVE = (State.QUEUED, State.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="fixity_runs")
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE, related_name="fixity_runs")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCREMENTAL)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    scheduled = models.BooleanField(default=False, help_text="Started by the schedule, not by a person.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    check_mode = models.CharField(
        max_length=8,
        choices=VolumeFixity.Check.choices,
        default=VolumeFixity.Check.READ,
        help_text="How each copy was checked: read back, or its stored checksum (buckets).",
    )
    budget_bytes = models.BigIntegerField(null=True, blank=True, help_text="None: no byte limit.")
    budget_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="None: no time limit.")
    host = models.CharField(max_length=255, blank=True, help_text="Where it ran.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The copies to check, decided once at the first start, and how many are done:
    # a resumed run goes on from ``position``.
    plan = ArrayField(models.BigIntegerField(), default=list, blank=True)
    plan_bytes = models.BigIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    files_checked = models.PositiveIntegerField(default=0)
    bytes_checked = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    proven = models.PositiveIntegerField(default=0)
    corrupt = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    extra = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list, blank=True, help_text="What was found, file by file (capped).")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["volume", "-created_at"], name="fixity_run_volume"),
            models.Index(fields=["state", "heartbeat_at"], name="fixity_run_state"),
        ]
        constraints = [
            # One queued or running audit per volume: two would read the drive twice.
            models.UniqueConstraint(
                fields=["volume"],
                condition=models.Q(state__in=["queued", "running"]),
                name="one_active_audit",
            )
        ]

    def __str__(self) -> str:
        return f"Audit {self.pk} of {self.volume_id}"

    @property
    def bytes_per_second(self) -> float | None:
        return self.bytes_checked / self.seconds if self.seconds > 0 else None

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.seconds)
