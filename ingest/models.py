"""Offload jobs: one card copied to several volumes, verified, with its progress and outcome."""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from catalog.models import Project, ShootDay, Volume


class DestinationSummary(TypedDict):
    """One destination of a finished offload."""

    location: str
    state: str  # "ok" or "failed"
    failure: str | None  # why the destination was dropped, if it was
    bytes_written: int
    bytes_verified: int


class DestinationBar(TypedDict):
    label: str
    percent: int
    written: int
    verified: int
    failure: str


class ScanProblemSummary(TypedDict):
    path: str
    # "symlink", "special_file", "unreadable_folder", "reserved_name", "unstorable_name", or
    # "not_in_mhl" (copied, verified and cataloged, but ASC MHL cannot record its name)
    kind: str
    message: str


class OffloadSummary(TypedDict, total=False):
    """The shape of ``OffloadJob.summary``: empty until the job finishes, then every key is set.

    Built by ingest.services when the job ends; read by the offload command,
    the transfer report, the API, alerts and the daily report.
    """

    files: int
    bytes: int
    seconds: float
    mb_per_second: float
    source_bytes_read: int
    destinations: dict[str, DestinationSummary]  # by volume label
    not_safe_reasons: list[str]  # the first 200
    not_safe_reason_count: int
    scan_problems: list[ScanProblemSummary]


class OffloadJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"  # every file verified on every destination
        INCOMPLETE = "incomplete", "Incomplete"  # finished, but something failed: card not safe
        FAILED = "failed", "Failed"  # stopped by an error before finishing
        CANCELLED = "cancelled", "Cancelled"
        PAUSED = "paused", "Paused"  # stopped between batches by the DIT; resumes without recopying

    FINISHED = (State.COMPLETED, State.INCOMPLETE, State.FAILED, State.CANCELLED)
    # Holding the card: a new offload of it is refused while one of these exists.
    ACTIVE = (State.QUEUED, State.RUNNING, State.PAUSED)

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="offloads")
    card = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="offloads_from")
    destinations = models.ManyToManyField(Volume, related_name="offloads_to")
    day = models.ForeignKey(
        ShootDay, on_delete=models.PROTECT, null=True, blank=True, related_name="offloads"
    )
    label = models.CharField(max_length=128, help_text="Card folder name at every destination.")
    source_path = models.CharField(max_length=1024)
    host = models.CharField(max_length=255, help_text="Host where source and destinations are mounted.")
    algorithms = ArrayField(models.CharField(max_length=10), default=list)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the runner.")
    cancel_requested = models.BooleanField(default=False)
    pause_requested = models.BooleanField(default=False)
    folder = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Where the card lands on each destination, relative to the volume (the project's folder "
        "template, rendered); empty on jobs from before templates: the label.",
    )
    preset = models.ForeignKey(
        "OffloadPreset",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        help_text="Started on its own by this preset when the card appeared.",
    )
    health_confirmations = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Destinations in warning health the DIT confirmed writing to.",
    )
    attempts = models.PositiveSmallIntegerField(default=0)

    # Live progress, written at most a few times a second by the runner.
    phase = models.CharField(max_length=12, blank=True)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_per_second = models.FloatField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    current_file = models.CharField(max_length=1024, blank=True)
    # Per destination (by volume label): {"written": bytes, "verified": bytes, "failure": str | None}.
    destination_progress = models.JSONField(default=dict, blank=True)

    # Outcome.
    safe_to_format = models.BooleanField(default=False)
    source_bytes_read = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    # An OffloadSummary; read it typed with ingest.selectors.offload_summary.
    summary = models.JSONField(default=dict, blank=True, help_text="Per-destination state and failures.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "state"], name="offload_project_state")]
        constraints = [
            # One active job per card: concurrent requests for one card must not
            # start two offloads writing into the same folders (ingest.services
            # serialises creation; this is the guarantee).
            models.UniqueConstraint(
                fields=["card"],
                condition=models.Q(state__in=["queued", "running", "paused"]),
                name="one_active_offload_per_card",
            )
        ]

    def __str__(self) -> str:
        return f"offload {self.label} ({self.state})"

    @property
    def percent(self) -> int:
        return int(100 * self.bytes_done / self.bytes_total) if self.bytes_total else 0

    @property
    def destination_bars(self) -> list[DestinationBar]:
        """One bar per destination: its copy and read-back so far, weighted equally (as the overall bar)."""
        progress = self.destination_progress or {}
        bars: list[DestinationBar] = []
        for volume in self.destinations.all():
            seen = progress.get(volume.label, {})
            written, verified = int(seen.get("written", 0)), int(seen.get("verified", 0))
            done = self.state == self.State.COMPLETED
            percent = (
                100
                if done
                else (
                    min(
                        100,
                        int(
                            50
                            * (min(written, self.bytes_total) + min(verified, self.bytes_total))
                            / self.bytes_total
                        ),
                    )
                    if self.bytes_total
                    else 0
                )
            )
            bars.append(
                {
                    "label": volume.label,
                    "percent": percent,
                    "written": written,
                    "verified": verified,
                    "failure": seen.get("failure") or "",
                }
            )
        return bars

    @property
    def dest_folder(self) -> str:
        """The card's folder on every destination, relative to the volume."""
        return self.folder or self.label


class OffloadPreset(models.Model):
    """How a project offloads a card: destinations, hashes, folder template, day rule, auto start."""

    class DayRule(models.TextChoices):
        RECORDED = "recorded", "The card's recording date, else the current day"
        CURRENT = "current", "The project's current shoot day"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="offload_preset")
    destinations = models.ManyToManyField(Volume, related_name="offload_presets", blank=True)
    algorithms = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    folder_template = models.CharField(max_length=300, default="{card}")
    day_rule = models.CharField(max_length=10, choices=DayRule.choices, default=DayRule.RECORDED)
    auto_start = models.BooleanField(
        default=False,
        help_text="Start an offload with this preset when a new card appears on a host that allows it "
        "(REELVAULT_AUTO_OFFLOAD=1 on that host).",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    def __str__(self) -> str:
        return f"offload preset of {self.project}"


class CardSighting(models.Model):
    """A card the watcher of a host saw and started an offload for: never twice for one card identity.

    The identity is a hash of the card's label and every file's path, size and
    modification time: the same card inserted again is the same card; a card
    reformatted and shot on again is a new one.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="card_sightings")
    host = models.CharField(max_length=255)
    label = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(OffloadJob, on_delete=models.SET_NULL, null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why no offload was started, if none was.")
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "fingerprint"], name="one_sighting_per_card_identity")
        ]

    def __str__(self) -> str:
        return f"card {self.label} seen on {self.host}"
