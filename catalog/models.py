"""The catalog spine: projects, days, volumes, clips, files, copies, roles, audit.

Models hold data and constraints only; behaviour lives in services.py
(writes) and selectors.py (reads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from core import names


class Project(models.Model):
    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9_-]+$", "Use capital letters, digits, - and _.")],
        help_text="Short code used in paths and URLs, e.g. DEMO.",
    )
    name = models.CharField(max_length=200)
    production_company = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shown in the header of transfer reports, e.g. Northlight Pictures.",
    )
    # Storage policy: how many verified copies a file needs, on how many kinds
    # of media, and how many of them off-site ("3-2-1").
    required_copies = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    required_media_kinds = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    required_offsite = models.PositiveSmallIntegerField(default=0)
    # Distinct sites (Volume.site) among the verified copies, and the tiers
    # whose copies count only on WORM volumes (catalog/policy.py).
    required_sites = models.PositiveSmallIntegerField(
        default=0, help_text="Distinct sites (a volume's site) the verified copies must span."
    )
    worm_tiers = ArrayField(
        models.CharField(max_length=5, choices=[("hot", "Hot"), ("warm", "Warm"), ("cold", "Cold")]),
        default=list,
        blank=True,
        help_text="Tiers that must be WORM: a copy there counts only on a WORM volume.",
    )
    # Sign-off advances permissions: editorial restores (roles without
    # Cap.RESTORE_BEFORE_SIGNOFF) of a day's footage wait until the day is signed off.
    restores_wait_for_signoff = models.BooleanField(
        default=False,
        help_text="Editorial restores (editors, colourists, VFX) of a shoot day's footage wait until "
        "the producer signs the day off.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Role(models.Model):
    """A business role. Rows are seeded by a migration; capabilities are in permissions.py."""

    name = models.SlugField(primary_key=True, max_length=20)
    label = models.CharField(max_length=60)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.label


class Membership(models.Model):
    """A user's role on one project: roles are granted per project."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_role_per_project")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role_id} on {self.project}"


class ShootDay(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="days")
    number = models.PositiveIntegerField(help_text="Shoot day number, 1 for the first day.")
    date = models.DateField()
    unit = models.CharField(max_length=40, default="main", help_text="Main unit, second unit, …")

    class Meta:
        ordering = ["project", "number", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["project", "unit", "number"], name="one_day_number_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.project} day {self.number}" + ("" if self.unit == "main" else f" ({self.unit})")


class Volume(models.Model):
    """Anything that holds media: a camera card, a shuttle drive, a RAID, a bucket."""

    class Kind(models.TextChoices):
        CARD = "card", "Camera card"
        SHUTTLE = "shuttle", "Shuttle drive"
        RAID = "raid", "RAID"
        NAS = "nas", "NAS"
        LTO = "lto", "LTO / LTFS"
        S3 = "s3", "Object storage"

    class Tier(models.TextChoices):
        # Ordered by how fast a restore from it starts: hot before warm before cold.
        HOT = "hot", "Hot (online disk)"
        WARM = "warm", "Warm (nearline)"
        COLD = "cold", "Cold (archive)"

    class Health(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        WARNING = "warning", "Warning"
        FAILING = "failing", "Failing"
        UNKNOWN = "unknown", "Unknown"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="volumes")
    label = models.CharField(max_length=64, help_text="Unique within the project; written on the drive.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tier = models.CharField(max_length=5, choices=Tier.choices, default=Tier.HOT)
    host = models.CharField(max_length=255, blank=True, help_text="Host where the volume is mounted.")
    location = models.CharField(
        max_length=1024, help_text="Mount path on its host, or s3://bucket/prefix for object storage."
    )
    offsite = models.BooleanField(default=False)
    worm = models.BooleanField(default=False, help_text="Write once, read many: never rewritten.")
    capacity_bytes = models.BigIntegerField(null=True, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True)
    online = models.BooleanField(default=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    serial = models.CharField(max_length=100, blank=True)
    site = models.CharField(
        max_length=120,
        blank=True,
        help_text='Where it is kept, e.g. "set cart", "post house", "cloud eu-west".',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "label"]
        constraints = [
            models.UniqueConstraint("project", Upper("label"), name="volume_label_unique_in_project_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_kind_display()})"

    def clean(self) -> None:
        """Refuse labels that cannot be folder names and locations that are not clean absolute paths.

        Offloads write into ``<location>/<label>/``. Whether a location may be
        written to is decided where the writing happens, against that host's
        ``REELVAULT_VOLUME_ROOTS`` (ingest.services): a volume may be registered
        for a host whose mounts the web server does not share.
        """
        errors: dict[str, str] = {}
        if (problem := names.label_problem(self.label)) is not None:
            errors["label"] = f"label {problem}"
        if self.kind != self.Kind.S3 and self.location:
            if (problem := names.path_problem(self.location)) is not None:
                errors["location"] = f"location {problem}"
        if errors:
            raise ValidationError(errors)


def clip_document() -> models.Func:
    """The clip's search document: the tsvector that free-text search matches and indexes.

    ``catalog_clip_document`` (SQL, created by migration 0004) makes lexemes of
    the name (whole, without separators, and its segments: ``A001C003_230815_R2AB``
    gives ``a001c003``, ``a001``, ``c003``, ``r2ab``, …) and of every word of scene,
    take, camera, reel, cast, location, lens, codec and notes. Migration 0006
    stores it in the generated column ``catalog_clip.search_document`` with a GIN
    index on it; searches read that column (see catalog/search.py).
    """
    return models.Func(
        models.F("name"),
        models.F("scene"),
        models.F("take"),
        models.F("camera"),
        models.F("reel"),
        models.F("cast"),
        models.F("location"),
        models.F("lens"),
        models.F("codec"),
        models.F("notes"),
        function="catalog_clip_document",
        output_field=SearchVectorField(),
    )


def clip_cast_folded() -> models.Func:
    """The clip's cast in lower case (``catalog_lower_array``), for case-insensitive actor search."""
    return models.Func(
        models.F("cast"),
        function="catalog_lower_array",
        output_field=ArrayField(models.TextField()),
    )


@dataclass(frozen=True)
class ClipCdl:
    """An ASC CDL: slope, offset and power (three values each, as written) and saturation."""

    slope: str
    offset: str
    power: str
    saturation: str
    sop: str  # as written, when it is not three groups


class Clip(models.Model):
    """One camera clip: a take as the camera recorded it, made of one or more files."""

    # Lists and searches always filter by project through the composite indexes
    # below, which all lead with project, so the plain FK index would be dead weight.
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="clips", db_index=False)
    day = models.ForeignKey(ShootDay, on_delete=models.PROTECT, null=True, blank=True, related_name="clips")
    card = models.ForeignKey(
        Volume,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clips_recorded",
        help_text="The camera card the clip was offloaded from.",
    )
    name = models.CharField(max_length=255, help_text="Canonical clip name, e.g. A001C003_230815_R2AB.")
    camera = models.CharField(max_length=20, blank=True)
    reel = models.CharField(max_length=64, blank=True, help_text="Camera roll / reel / tape name.")
    scene = models.CharField(max_length=32, blank=True)
    take = models.CharField(max_length=16, blank=True)
    circled = models.BooleanField(default=False)
    cast = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    location = models.CharField(max_length=200, blank=True)
    lens = models.CharField(max_length=120, blank=True)
    start_tc = models.CharField(max_length=11, blank=True, help_text="HH:MM:SS:FF (; for drop frame).")
    fps = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    duration_frames = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=60, blank=True)
    resolution = models.CharField(max_length=30, blank=True)
    notes = models.TextField(blank=True)
    # Camera settings (issue 16): columns, not keys of ``extra``, so search filters on them
    # like any other field. Filled from camera sidecars at extraction; editable like the rest.
    iso = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="ISO", help_text="ISO, or the exposure index the camera rated."
    )
    white_balance_k = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="white balance", help_text="Colour temperature in kelvin."
    )
    shutter = models.CharField(max_length=20, blank=True, help_text="Shutter angle (172.8°) or speed (1/48).")
    iris = models.CharField(max_length=20, blank=True, help_text="Aperture as recorded: T2.3, F5.6.")
    focal_length_mm = models.DecimalField(
        max_digits=6, decimal_places=1, null=True, blank=True, verbose_name="focal length"
    )
    sensor_fps = models.DecimalField(
        max_digits=7,
        decimal_places=3,
        null=True,
        blank=True,
        verbose_name="sensor FPS",
        help_text="Capture rate; differs from the timecode rate when off-speed.",
    )
    look = models.CharField(max_length=200, blank=True, verbose_name="look / LUT")
    extra = models.JSONField(default=dict, blank=True, help_text="Any other metadata, as found.")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    # Maintained by database triggers on catalog_copy, catalog_mediafile and
    # catalog_volume (migration 0004), never by Python: the fewest verified
    # copies, on distinct volumes other than camera cards, that any file of the
    # clip has; 0 for a clip with no files. "Fewer than N verified copies" is
    # then one index range scan at any catalog size.
    min_verified_copies = models.PositiveSmallIntegerField(
        default=0,
        editable=False,
        help_text="Fewest verified copies (distinct volumes, cards excluded) of any of its files.",
    )

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="clip_name_unique_in_project")
        ]
        # Search indexes (catalog/search.py builds queries that match them):
        # case-insensitive equality filters use UPPER() expressions led by the
        # searched value (selective whatever the project scope), actors the
        # folded-cast GIN, timecode order clip_timecode. Free text and partial
        # names use the GIN on the stored search document, a generated column
        # that migration 0006 adds in SQL (the model does not load it).
        indexes = [
            models.Index(Upper("scene"), Upper("take"), models.F("project"), name="clip_scene_take_ci"),
            models.Index(Upper("reel"), models.F("project"), name="clip_reel_ci"),
            models.Index(Upper("location"), models.F("project"), name="clip_location_ci"),
            models.Index(fields=["project", "modified_at"], name="clip_modified"),
            models.Index(fields=["project", "min_verified_copies"], name="clip_min_verified"),
            models.Index(fields=["iso", "project"], name="clip_iso"),
            models.Index(fields=["white_balance_k", "project"], name="clip_white_balance"),
            models.Index(Upper("look"), models.F("project"), name="clip_look_ci"),
            models.Index(fields=["project", "start_tc", "name", "id"], name="clip_timecode"),
            GinIndex(clip_cast_folded(), name="clip_cast_folded_gin"),
            # Clips short of copies (copies_lt=1 or 2): a small index, read in name order
            # or index-only when collecting, instead of visiting every such clip's row.
            models.Index(
                fields=["project", "name", "id"],
                condition=models.Q(min_verified_copies__lt=2),
                name="clip_short_of_copies",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    #: Columns the database keeps (triggers, migration 0004): the ORM never writes them.
    DB_MAINTAINED_FIELDS = frozenset({"min_verified_copies"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, never writing the trigger-kept columns of an existing clip.

        A clip loaded before its copies changed holds an old count; a plain
        ``save()`` would write it back over the one the triggers keep. An
        update writes every other column instead (or the named
        ``update_fields`` without the kept ones).
        """
        if not self._state.adding and not kwargs.get("force_insert"):
            fields = kwargs.get("update_fields")
            if fields is None:
                fields = [f.name for f in self._meta.concrete_fields if not f.primary_key]
            kwargs["update_fields"] = [name for name in fields if name not in self.DB_MAINTAINED_FIELDS]
        super().save(*args, **kwargs)

    @property
    def cdl(self) -> ClipCdl | None:
        """The ASC CDL kept with the clip (``extra["cdl"]``, written by ALE import), typed; None if none."""
        raw = self.extra.get("cdl") if isinstance(self.extra, dict) else None
        if not isinstance(raw, dict):
            return None
        sop, sat = str(raw.get("asc_sop") or "").strip(), str(raw.get("asc_sat") or "").strip()
        if not sop and not sat:
            return None
        groups = re.findall(r"\(([^()]*)\)", sop)
        slope, offset, power = groups if len(groups) == 3 else ("", "", "")
        return ClipCdl(
            slope=slope.strip(), offset=offset.strip(), power=power.strip(), saturation=sat, sop=sop
        )

    @property
    def thumbnail_url(self) -> str:
        """URL of the clip's poster frame once ingest made one (metadata/extraction.py), else ""."""
        return reverse("clip-thumbnail", args=[self.pk]) if self.extra.get("thumbnail") else ""


class MediaFile(models.Model):
    """One file of a card (usually of a clip), identified by its path on the card and its hash."""

    clip = models.ForeignKey(
        Clip,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="files",
        help_text="Empty for card-level files that belong to no clip (card XML, .DS_Store).",
    )
    card = models.ForeignKey(
        Volume,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="card_files",
        help_text="The camera card the file was offloaded from; paths are relative to its root.",
    )
    relative_path = models.CharField(max_length=1024)
    size = models.BigIntegerField()
    mtime = models.DateTimeField(null=True, blank=True)
    xxh128 = models.CharField(max_length=32, help_text="XXH3-128 of the content, hex.")
    md5 = models.CharField(max_length=32, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clip", "relative_path"]
        constraints = [
            models.UniqueConstraint(fields=["card", "relative_path"], name="file_path_unique_on_card")
        ]
        indexes = [models.Index(fields=["xxh128"], name="file_xxh128")]

    def __str__(self) -> str:
        return self.relative_path


class Copy(models.Model):
    """One MediaFile on one Volume. It counts only in state ``verified``."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        COPYING = "copying", "Copying"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"
        MISSING = "missing", "Missing"
        CORRUPT = "corrupt", "Corrupt"

    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, related_name="copies")
    volume = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="copies")
    path = models.CharField(max_length=1024, help_text="Path of the copy relative to the volume root.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    hash_found = models.CharField(max_length=32, blank=True, help_text="XXH3-128 read at the last check.")
    verified_at = models.DateTimeField(null=True, blank=True, help_text="When it was last proven good.")
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "copies"
        constraints = [
            models.UniqueConstraint(fields=["media_file", "volume"], name="one_copy_per_volume"),
            # A verified copy always records when and with which hash it was proven.
            models.CheckConstraint(
                condition=~models.Q(state="verified")
                | (models.Q(verified_at__isnull=False) & ~models.Q(hash_found="")),
                name="verified_copy_has_proof",
            ),
        ]
        indexes = [models.Index(fields=["volume", "state"], name="copy_volume_state")]

    def __str__(self) -> str:
        return f"{self.media_file} on {self.volume.label}: {self.state}"


class SavedSearch(models.Model):
    """A named search ("search template"): the query string of the search page, private or shared.

    A shared search belongs to one project and every member of it sees it; a
    private one only its owner.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_searches",
        help_text="The project it is shared with (required when shared).",
    )
    name = models.CharField(max_length=120)
    query = models.CharField(
        max_length=2000, blank=True, help_text="URL query string of the search, e.g. scene=42&circled=true."
    )
    shared = models.BooleanField(default=False, help_text="Visible to every member of the project.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("owner", Upper("name"), name="saved_search_name_unique_per_owner_ci"),
            models.CheckConstraint(
                condition=models.Q(shared=False) | models.Q(project__isnull=False),
                name="shared_search_has_project",
            ),
        ]
        indexes = [models.Index(fields=["project", "shared"], name="saved_search_project_shared")]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """An append-only, hash-chained record of who did what to which object, when.

    ``entry_hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of this
    entry's content (see catalog/audit.py). A trigger installed by a migration
    rejects UPDATE and DELETE; ``manage.py audit_verify`` walks the chain.
    """

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, blank=True, db_constraint=False
    )
    actor_name = models.CharField(max_length=150, help_text="Username at the time, or 'system'.")
    source = models.CharField(max_length=255, help_text="Where from: client IP, or host and command.")
    project = models.ForeignKey(
        Project, on_delete=models.DO_NOTHING, null=True, blank=True, db_constraint=False
    )
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["project", "at"], name="audit_project_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.actor_name} {self.action} {self.object_type}:{self.object_id}"


class DaySignOff(models.Model):
    """One sign-off or reopening of a shoot day's archive integrity: the day's history, append-only.

    A day is signed off when its latest row is a sign-off. Signing off
    releases the day's cards for reformat and makes its footage visible to
    editorial; reopening takes both back until the next sign-off.
    """

    class Action(models.TextChoices):
        SIGN_OFF = "sign_off", "Signed off"
        REOPEN = "reopen", "Reopened"

    day = models.ForeignKey(ShootDay, on_delete=models.PROTECT, related_name="signoffs")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Username at the time (kept if the user goes).")
    at = models.DateTimeField()
    comment = models.TextField(blank=True, help_text="Why it was reopened (required), or a note.")
    figures = models.JSONField(default=dict, blank=True, help_text="The day's figures when it was done.")
    released_cards = models.JSONField(
        default=list, blank=True, help_text="Labels of the cards a sign-off released for reformat."
    )

    class Meta:
        db_table = "dashboard_daysignoff"
        ordering = ["day", "at", "id"]
        indexes = [models.Index(fields=["day", "-at", "-id"], name="signoff_day_latest")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action="reopen") | ~models.Q(comment=""), name="reopen_has_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_action_display().lower()} by {self.actor_name}"
