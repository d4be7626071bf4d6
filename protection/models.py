"""Protection: where copies must go (volume groups, replication rules, destination settings)
and the jobs that take them there (replication jobs and their items).

Models hold data and constraints only; behaviour lives in services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from catalog.models import Copy, MediaFile, Project, Volume


class VolumeGroup(models.Model):
    """Volumes that are interchangeable as a destination: "any online shuttle of the pair"."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="volume_groups")
    name = models.CharField(max_length=60, help_text="e.g. shuttles, lto, cloud")
    volumes = models.ManyToManyField(Volume, related_name="protection_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="volume_group_name_unique_in_project"),
        ]

    def __str__(self) -> str:
        return self.name


class ReplicationRule(models.Model):
    """ "Copy what lands on tier X (or volume group X) to volume group Y." """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="replication_rules")
    source_tier = models.CharField(
        max_length=5, choices=Volume.Tier.choices, blank=True, help_text="Copies on this tier are replicated."
    )
    source_group = models.ForeignKey(
        VolumeGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules_from",
        help_text="…or copies on this group's volumes.",
    )
    destination = models.ForeignKey(VolumeGroup, on_delete=models.PROTECT, related_name="rules_to")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(source_tier="") & models.Q(source_group__isnull=False))
                | (~models.Q(source_tier="") & models.Q(source_group__isnull=True)),
                name="rule_has_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} → {self.destination.name}"

    @property
    def source_name(self) -> str:
        if self.source_group_id is not None and self.source_group is not None:
            return f"group {self.source_group.name}"
        return f"{self.get_source_tier_display()} tier"


class DestinationSettings(models.Model):
    """How a volume may be written as a replication destination: WORM retention, window, speed."""

    class LockMode(models.TextChoices):
        GOVERNANCE = "GOVERNANCE", "Governance"
        COMPLIANCE = "COMPLIANCE", "Compliance"

    volume = models.OneToOneField(Volume, on_delete=models.CASCADE, related_name="protection_settings")
    lock_mode = models.CharField(max_length=10, choices=LockMode.choices, default=LockMode.GOVERNANCE)
    retention_days = models.PositiveIntegerField(
        default=365, validators=[MinValueValidator(1)], help_text="S3 WORM: Object Lock retention."
    )
    window_start = models.TimeField(null=True, blank=True, help_text="Local time writes may start.")
    window_end = models.TimeField(null=True, blank=True, help_text="Local time writes must stop.")
    max_mb_per_second = models.PositiveIntegerField(default=0, help_text="0: no cap.")

    def __str__(self) -> str:
        return f"settings of {self.volume.label}"


class ReplicationJob(models.Model):
    """Copies of files to one destination volume, run by the worker of one host."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        WAITING_WINDOW = "window", "Waiting for window"
        PAUSED = "paused", "Paused"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"

    ACTIVE = (State.QUEUED, State.RUNNING, State.WAITING_WINDOW, State.PAUSED)

    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        ON_DEMAND = "on demand", "On demand"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="replication_jobs")
    rule = models.ForeignKey(ReplicationRule, on_delete=models.SET_NULL, null=True, blank=True)
    destination = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="replications_to")
    host = models.CharField(max_length=255, blank=True, help_text="Worker host; empty: any host.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.AUTOMATIC)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    file_count = models.PositiveIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_copied = models.BigIntegerField(default=0, help_text="Bytes written in all runs.")
    seconds = models.FloatField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    current_file = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "state"], name="replication_job_state")]

    def __str__(self) -> str:
        return f"Replication {self.pk} to {self.destination.label}"


class ReplicationItem(models.Model):
    """One file of a job: which copy it was read from, what happened."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(ReplicationJob, on_delete=models.CASCADE, related_name="items")
    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=1024, help_text="Path of the new copy relative to the volume root.")
    size = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    source_copy = models.ForeignKey(Copy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tries = models.JSONField(default=list, blank=True, help_text="Copies tried, in order, and what happened.")
    error = models.TextField(blank=True)
    already_there = models.BooleanField(default=False)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["job", "path"]
        constraints = [models.UniqueConstraint(fields=["job", "media_file"], name="one_item_per_file_in_job")]
        indexes = [models.Index(fields=["media_file", "state"], name="replication_item_file")]

    def __str__(self) -> str:
        return self.path
