"""Custody of physical media: registry details, handoffs with seals, SMART readings.

Everything here hangs off catalog's ``Volume`` without changing it: a
``VolumeRecord`` (one per registered volume) holds what a DIT writes on the
label and in the asset register; ``Handoff`` rows form each volume's custody
timeline; ``SmartReading`` rows its health history. ``Volume.health`` stays the
one field the rest of the system reads (offload, alerts, dashboard).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Upper

from catalog.models import Project, Volume


class VolumeRecord(models.Model):
    """The registry entry of a volume: its project-scoped identifier and asset details."""

    volume = models.OneToOneField(Volume, on_delete=models.PROTECT, related_name="custody")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="volume_records")
    identity = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Written to .reelvault-volume.json."
    )
    identifier = models.CharField(max_length=64, help_text="Printed on the label, e.g. DEMO-SH-007.")
    site = models.CharField(max_length=120, blank=True, help_text="Where it normally lives: set, lab, vault.")
    drive_model = models.CharField(max_length=120, blank=True)
    purchase_date = models.DateField(null=True, blank=True)
    owner = models.CharField(max_length=120, blank=True, help_text="Rental house or production.")
    notes = models.TextField(blank=True)
    device = models.CharField(
        max_length=255,
        blank=True,
        help_text="Block device for SMART checks when the mount point does not reveal it (e.g. /dev/sdb).",
    )
    seal_problem = models.TextField(
        blank=True, help_text="Set when a handoff found a seal missing or different; cleared by hand."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "identifier"]
        constraints = [
            models.UniqueConstraint("project", Upper("identifier"), name="custody_identifier_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.identifier


class Handoff(models.Model):
    """One move of a volume from a person or place to another, sealed; received in a second step."""

    class State(models.TextChoices):
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received", "Received"

    volume = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="handoffs")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="handoffs")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_place = models.CharField(max_length=120, blank=True)
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_place = models.CharField(max_length=120, blank=True)
    handed_at = models.DateTimeField()
    where = models.CharField(max_length=200, blank=True)
    seals_applied = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    condition = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_TRANSIT)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    seals_found = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    seal_mismatch = models.BooleanField(default=False)
    receive_note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-handed_at", "-pk"]
        indexes = [models.Index(fields=["volume", "-handed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(from_user__isnull=False) | ~models.Q(from_place=""),
                name="handoff_has_sender",
            ),
            models.CheckConstraint(
                condition=models.Q(to_user__isnull=False) | ~models.Q(to_place=""),
                name="handoff_has_receiver",
            ),
            models.CheckConstraint(
                condition=models.Q(state="in_transit") | models.Q(received_at__isnull=False),
                name="handoff_received_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volume_id}: {self.from_name} → {self.to_name}"

    @property
    def from_name(self) -> str:
        return self.from_user.get_username() if self.from_user else self.from_place

    @property
    def to_name(self) -> str:
        return self.to_user.get_username() if self.to_user else self.to_place


class SmartReading(models.Model):
    """One ``smartctl`` run for a volume's drive, or why there could be none."""

    volume = models.ForeignKey(Volume, on_delete=models.CASCADE, related_name="smart_readings")
    taken_at = models.DateTimeField()
    host = models.CharField(max_length=255)
    device = models.CharField(max_length=255, blank=True)
    verdict = models.CharField(max_length=10, choices=Volume.Health.choices)
    reasons = ArrayField(models.TextField(), default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why smartctl gave no usable answer, if it did not.")
    drive_model = models.CharField(max_length=120, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    passed = models.BooleanField(null=True)
    power_on_hours = models.IntegerField(null=True)
    temperature_c = models.IntegerField(null=True)
    reallocated_sectors = models.BigIntegerField(null=True)
    pending_sectors = models.BigIntegerField(null=True)
    crc_errors = models.BigIntegerField(null=True)
    nvme_percentage_used = models.IntegerField(null=True)
    nvme_media_errors = models.BigIntegerField(null=True)
    exit_status = models.IntegerField(null=True)

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["volume", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.volume_id} {self.verdict}"


class CapacityReading(models.Model):
    """One report of a volume by the host that mounts it: reachable or not, free and total bytes."""

    volume = models.ForeignKey(Volume, on_delete=models.CASCADE, related_name="capacity_readings")
    taken_at = models.DateTimeField()
    host = models.CharField(max_length=255)
    online = models.BooleanField()
    free_bytes = models.BigIntegerField(null=True)
    total_bytes = models.BigIntegerField(null=True)
    problem = models.TextField(blank=True, help_text="Why the volume is not reachable, when it is not.")

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["volume", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.volume_id} {self.free_bytes}/{self.total_bytes}"

    @property
    def used_bytes(self) -> int | None:
        if self.free_bytes is None or self.total_bytes is None:
            return None
        return self.total_bytes - self.free_bytes


class CapacityQuota(models.Model):
    """The plan for a project's storage of one kind: how much in all, and how much per shoot day."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="capacity_quotas")
    kind = models.CharField(max_length=10, choices=Volume.Kind.choices)
    quota_bytes = models.BigIntegerField(help_text="Planned space on this kind of volume for the project.")
    planned_bytes_per_day = models.BigIntegerField(
        null=True, blank=True, help_text="Planned bytes a shoot day adds to this kind of volume."
    )

    class Meta:
        ordering = ["project", "kind"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="one_quota_per_kind")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} {self.quota_bytes}"


class CardFormat(models.Model):
    """A DIT's confirmation that a camera card was formatted and returned to a camera."""

    volume = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="card_formats")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    formatted_at = models.DateTimeField()
    formatted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    camera = models.CharField(max_length=60, blank=True, help_text="The camera it went back to, e.g. A.")
    note = models.TextField(blank=True)
    files = models.PositiveIntegerField(help_text="Files the catalog knew on the card when it was formatted.")

    class Meta:
        ordering = ["-formatted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.volume_id} formatted {self.formatted_at}"
