"""Clip metadata: validation rules, the review queue, extraction jobs and ALE uploads.

These tables were created by the ingest app; their names are kept (``db_table``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from catalog.models import Project


class IngestRules(models.Model):
    """A project's naming schema and validation rules (ingest/review.py applies them).

    ``camera_rules`` refines the rules per camera letter:
    ``{"A": {"naming_pattern": "...", "fps": "25", "require_sidecar": true}}``.
    When it (or ``known_cameras``) names cameras, a clip of any other camera is
    reported as an unknown camera.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="ingest_rules")
    naming_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="Tokens in braces, e.g. {camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}. Empty: no check.",
    )
    required_fields = ArrayField(
        models.CharField(max_length=32),
        default=list,
        blank=True,
        help_text="Clip fields every clip must have.",
    )
    allowed_values = models.JSONField(
        default=dict, blank=True, help_text='Allowed values per field, e.g. {"camera": ["A", "B"]}.'
    )
    known_cameras = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    camera_rules = models.JSONField(default=dict, blank=True, help_text="Rules per camera letter.")
    require_sidecar = models.BooleanField(
        default=False, help_text="Every clip must come with a camera sidecar (XML/CSV metadata file)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "ingest_ingestrules"
        verbose_name_plural = "ingest rules"

    def __str__(self) -> str:
        return f"rules of {self.project}"


class ReviewItem(models.Model):
    """A problem found in a clip's (or file's) metadata, until a DIT fixes it or waives the rule.

    ``fingerprint`` identifies the problem (``clip:12:required:scene``) so that
    running validation again updates the same row: nothing is reported twice,
    and nothing disappears without a trace (a problem no longer found is closed
    as fixed, with who or what fixed it).
    """

    class Kind(models.TextChoices):
        NAMING = "naming", "Name does not follow the naming schema"
        REQUIRED = "required", "Required field missing"
        ALLOWED = "allowed", "Value not allowed"
        TIMECODE = "timecode", "Timecode problem"
        FPS_ROLL = "fps_roll", "Frame rate differs within a roll"
        DUPLICATE = "duplicate", "Duplicate name"
        UNKNOWN_CAMERA = "unknown_camera", "Unknown camera"
        MISSING_SIDECAR = "missing_sidecar", "Missing sidecar"
        SIDECAR = "sidecar", "Sidecar unreadable"
        PROBE = "probe", "Technical metadata not readable"
        THUMBNAIL = "thumbnail", "No thumbnail"
        NO_COPY = "no_copy", "No readable copy"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed"
        WAIVED = "waived", "Waived"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="review_items")
    clip = models.ForeignKey(
        "catalog.Clip", on_delete=models.CASCADE, null=True, blank=True, related_name="review_items"
    )
    media_file = models.ForeignKey(
        "catalog.MediaFile", on_delete=models.CASCADE, null=True, blank=True, related_name="review_items"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=32, blank=True, help_text="The clip field concerned, if any.")
    fingerprint = models.CharField(max_length=255)
    message = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    waiver_reason = models.TextField(blank=True)
    resolution = models.CharField(max_length=255, blank=True, help_text="How it was closed.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ingest_reviewitem"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "fingerprint"], name="review_item_unique_problem"),
            models.CheckConstraint(
                condition=~models.Q(state="waived") | ~models.Q(waiver_reason=""),
                name="waived_review_item_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "state", "kind"], name="review_project_state"),
            models.Index(fields=["clip", "state"], name="review_clip_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class MetadataExtraction(models.Model):
    """The extraction job of one clip: claimed by one worker, safe to queue again."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    clip = models.OneToOneField("catalog.Clip", on_delete=models.CASCADE, related_name="metadata_extraction")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    queue = models.CharField(max_length=255, blank=True, help_text="Queue it was sent to.")
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    problems = models.PositiveSmallIntegerField(default=0, help_text="Review items found by the last run.")
    error = models.TextField(blank=True)

    class Meta:
        db_table = "ingest_metadataextraction"
        indexes = [models.Index(fields=["state", "queued_at"], name="extraction_state")]

    def __str__(self) -> str:
        return f"extraction of clip {self.clip_id}: {self.state}"


class AleUpload(models.Model):
    """An ALE/CSV uploaded on the import page, kept between its preview and its apply."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ale_uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    data = models.BinaryField(help_text="The file as uploaded (emptied once applied).")
    sha256 = models.CharField(max_length=64)
    ignore_unknown_columns = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "ingest_aleupload"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename
