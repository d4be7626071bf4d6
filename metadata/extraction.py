"""Per-clip metadata extraction after offload: ffprobe, camera sidecars, names, a poster frame.

One job per clip (``ingest.clip_metadata_extract``), sent to the queue of the host
where a verified copy of the clip is mounted (``host.<hostname>``): that worker
reads the copy at ``Volume.location / Copy.path``. The job

1. probes the clip's first media file with ffprobe (container, codec, resolution,
   frame rate, duration, start timecode, reel, camera make/model, audio channels,
   creation time); RAW formats ffprobe cannot read (R3D, ARRIRAW, BRAW, …) are
   not probed: their sidecars and names give what is known;
2. parses the camera sidecars among the clip's files (Sony ``M01.XML``, ARRI,
   RED, Canon, Blackmagic; XML with defusedxml, so entity bombs are refused);
3. parses the name (camera-native forms and the project's naming schema);
4. fills the clip's *empty* fields only (hand edits and ALE imports are never
   overwritten) and keeps everything else under ``Clip.extra``;
5. writes a JPEG poster frame under ``MEDIA_ROOT/thumbs/<project>/<clip id>.jpg``;
6. records every problem in the review queue and re-validates the clip.

A clip whose files cannot be read is still cataloged (offload created it); the
problem goes to the review queue. Reading files happens outside any transaction;
everything the job writes is one durable transaction with its audit entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from catalog.audit import audit_record, model_snapshot
from catalog.models import Clip, Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser
from core.queues import Queue, host_queue
from formats.naming import MEDIA_EXTENSIONS, recognize_camera_name
from formats.probe import ProbeError, ProbeToolMissing, TechnicalMetadata, make_thumbnail, probe
from formats.sidecars import SidecarError, SidecarMetadata, parse_sidecar
from formats.timecode import TimecodeError, frame_rate
from metadata.models import MetadataExtraction, ReviewItem
from metadata.review import (
    EXTRACTION_KINDS,
    SIDECAR_SUFFIXES,
    Problem,
    naming_schema_for,
    review_clips_revalidate,
    review_sync,
    rules_for,
)

logger = logging.getLogger(__name__)
Kind = ReviewItem.Kind

#: Camera RAW formats ffprobe cannot decode: their metadata comes from sidecars and names.
RAW_EXTENSIONS = frozenset({".r3d", ".ari", ".arx", ".braw", ".crm", ".nev", ".cine", ".rmf", ".dng"})
#: A job still "running" after this long has lost its worker (the task's hard limit is 5 minutes).
EXTRACTION_STALE = timedelta(minutes=10)
#: A job "queued" for longer than this was lost with its message (broker restart): send it again.
QUEUED_STALE = timedelta(minutes=30)
THUMBS_FOLDER = "thumbs"


def thumbnail_path(clip: Clip) -> Path:
    """Where the clip's poster frame is (or would be) stored."""
    return Path(settings.MEDIA_ROOT) / THUMBS_FOLDER / clip.project.code / f"{clip.pk}.jpg"


# --------------------------------------------------------------------------- #
# Finding files
# --------------------------------------------------------------------------- #


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def _is_proxy(path: str) -> bool:
    parts = [p.casefold() for p in PurePosixPath(path).parts[:-1]]
    stem = PurePosixPath(path).name.split(".", 1)[0]
    # Sony proxies are C0001S03.MP4; many cameras put proxies in a Proxy folder.
    return any(p in ("proxy", "proxies", "sub") for p in parts) or (
        len(stem) > 3 and stem[-3] == "S" and stem[-2:].isdigit()
    )


def media_files_in_order(files: Iterable[MediaFile]) -> list[MediaFile]:
    """The clip's media (essence) files, the one to probe first: originals before proxies, by path."""
    media = [f for f in files if _suffix(f.relative_path) in MEDIA_EXTENSIONS]
    return sorted(media, key=lambda f: (_is_proxy(f.relative_path), f.relative_path))


def _usable_copies(media_file: MediaFile) -> list[Copy]:
    tiers: dict[str, int] = {Volume.Tier.HOT: 0, Volume.Tier.WARM: 1, Volume.Tier.COLD: 2}
    copies = [
        c
        for c in media_file.copies.all()
        if c.state == Copy.State.VERIFIED and c.volume.kind != Volume.Kind.S3 and c.volume.online
    ]
    return sorted(copies, key=lambda c: (tiers.get(c.volume.tier, 3), c.volume.label))


def local_path(media_file: MediaFile) -> Path | None:
    """A verified copy of the file on a volume mounted on this host, if one is there."""
    for copy in _usable_copies(media_file):
        if copy.volume.host not in ("", settings.REELVAULT_HOSTNAME):
            continue
        path = Path(copy.volume.location) / copy.path
        if path.is_file():
            return path
    return None


def _clip_files(clip_id: int) -> list[MediaFile]:
    copies = Copy.objects.select_related("volume")
    return list(
        MediaFile.objects.filter(clip_id=clip_id)
        .select_related("card")
        .prefetch_related(Prefetch("copies", queryset=copies))
        .order_by("relative_path")
    )


def extraction_queue(files: Sequence[MediaFile]) -> str:
    """The host queue of a volume holding a verified copy of the clip's first media file (else any file)."""
    candidates = media_files_in_order(files) or list(files)
    for media_file in candidates:
        for copy in _usable_copies(media_file):
            if copy.volume.host:
                return host_queue(copy.volume.host)
    return Queue.DEFAULT.value


# --------------------------------------------------------------------------- #
# Reading (no database writes, no transaction)
# --------------------------------------------------------------------------- #


@dataclass
class Facts:
    """What the files of one clip say."""

    technical: TechnicalMetadata | None = None
    probed: str = ""
    sidecars: list[SidecarMetadata] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    thumbnail: bool = False


def read_clip_files(clip: Clip, files: Sequence[MediaFile]) -> Facts:
    """Probe, parse sidecars and make the thumbnail of one clip; problems are collected, never raised."""
    facts = Facts()
    host = settings.REELVAULT_HOSTNAME
    media = media_files_in_order(files)
    if not media:
        names = ", ".join(f.relative_path for f in files) or "none"
        facts.problems.append(
            Problem(Kind.PROBE, f"the clip has no media file (its files: {names})", key="media")
        )
    for media_file in files:
        if not media_file.relative_path.lower().endswith(SIDECAR_SUFFIXES) or media_file in media:
            continue
        path = local_path(media_file)
        if path is None:
            facts.problems.append(_no_copy(media_file, host))
            continue
        try:
            facts.sidecars.append(parse_sidecar(path))
        except SidecarError as exc:
            facts.problems.append(
                Problem(
                    Kind.SIDECAR,
                    f"{media_file.relative_path}: {exc.problem}; its values were not used",
                    key=str(media_file.pk),
                    media_file_id=media_file.pk,
                )
            )
    # The richest sidecar first (a REDline static file before its per-frame sibling).
    facts.sidecars.sort(key=lambda s: -len(s.normalized()))
    if not media:
        return facts
    first = media[0]
    if _suffix(first.relative_path) in RAW_EXTENSIONS:
        if not any(_has_technical(s) for s in facts.sidecars):
            facts.problems.append(
                Problem(
                    Kind.PROBE,
                    f"{first.relative_path}: ffprobe cannot read {_suffix(first.relative_path)} RAW files "
                    "and no sidecar gave the technical metadata; export one with the camera maker's tool "
                    "(e.g. REDline --printMeta) next to the clip, or waive",
                    key="raw",
                    media_file_id=first.pk,
                )
            )
        return facts
    path = local_path(first)
    if path is None:
        facts.problems.append(_no_copy(first, host))
        return facts
    facts.probed = first.relative_path
    try:
        facts.technical = probe(path)
    except ProbeToolMissing as exc:
        facts.problems.append(Problem(Kind.PROBE, str(exc), key="tool", media_file_id=first.pk))
        return facts
    except ProbeError as exc:
        message = _tool_message(exc, path, first)
        facts.problems.append(
            Problem(
                Kind.PROBE,
                f"{message}; the clip is cataloged without technical metadata",
                media_file_id=first.pk,
            )
        )
        return facts
    if facts.technical.width:
        target = thumbnail_path(clip)
        try:
            if not target.is_file():
                make_thumbnail(path, target)
            facts.thumbnail = True
        except (ProbeError, OSError) as exc:
            message = _tool_message(exc, path, first)
            facts.problems.append(
                Problem(Kind.THUMBNAIL, f"{message}; a placeholder is shown", media_file_id=first.pk)
            )
    return facts


def _tool_message(exc: Exception, path: Path, media_file: MediaFile) -> str:
    # Name the file as the catalog knows it (card/path), not by this host's mount
    # point; ffprobe repeats the path before its own message, drop that copy.
    shown = (
        f"{media_file.card.label}/{media_file.relative_path}" if media_file.card else media_file.relative_path
    )
    return str(exc).replace(f"{path}: {path}: ", f"{shown}: ").replace(str(path), shown)


def _no_copy(media_file: MediaFile, host: str) -> Problem:
    return Problem(
        Kind.NO_COPY,
        f"{media_file.relative_path}: no verified copy on a volume mounted on host {host}; run "
        "`manage.py clip_metadata` on the host that has one",
        key=str(media_file.pk),
        media_file_id=media_file.pk,
    )


def _has_technical(meta: SidecarMetadata) -> bool:
    return bool(meta.codec or meta.fps or meta.width or meta.start_timecode)


# --------------------------------------------------------------------------- #
# Deciding values
# --------------------------------------------------------------------------- #


def _fps_decimal(value: Fraction | float | None) -> Decimal | None:
    if value is None or value <= 0:
        return None
    try:
        return Decimal(frame_rate(Fraction(value).limit_denominator(1001)).label)
    except TimecodeError:
        try:
            number = Decimal(str(float(value))).quantize(Decimal("0.001"))
        except InvalidOperation:
            return None
        return number if number < 10000 else None


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, "", [], ()):
            return value
    return None


def _fit(clip: Clip, name: str, value: Any) -> Any:
    max_length = getattr(Clip._meta.get_field(name), "max_length", None)
    if isinstance(value, str) and max_length:
        return value.strip()[:max_length]
    return value


def camera_settings(sidecars: Sequence[SidecarMetadata]) -> dict[str, Any]:
    """The camera settings the sidecars state (first sidecar that says wins), for the clip's columns."""

    def first(attr: str) -> Any:
        return _first(*(getattr(s, attr) for s in sidecars))

    angle, speed = first("shutter_angle"), first("shutter_speed")
    focal = first("focal_length_mm")
    try:
        focal_mm = Decimal(str(focal)).quantize(Decimal("0.1")) if focal and 0 < focal < 100_000 else None
    except InvalidOperation:
        focal_mm = None
    iso = first("iso") or first("exposure_index")
    white_balance = first("white_balance_k")
    return {
        "iso": iso if isinstance(iso, int) and iso > 0 else None,
        "white_balance_k": white_balance if isinstance(white_balance, int) and white_balance > 0 else None,
        "shutter": f"{angle:g}°" if angle else speed,
        "iris": first("iris"),
        "focal_length_mm": focal_mm,
        "sensor_fps": _fps_decimal(first("capture_fps")),
        "look": _first(*(s.look for s in sidecars)),
    }


def proposed_values(clip: Clip, facts: Facts) -> dict[str, Any]:
    """Values for the clip's empty fields, from (in order) the media, the sidecars, the name.

    The media's own metadata wins for technical fields (it is what an NLE will
    see); sidecars give lens and slate data; the name gives camera and roll.
    """
    tech = facts.technical
    side = facts.sidecars
    name = recognize_camera_name(clip.name)
    schema = naming_schema_for(rules_for(clip.project), clip.camera)
    tokens = schema.parse(clip.name) if schema is not None else None
    tokens = tokens or {}

    def from_sidecars(attr: str) -> Any:
        return _first(*(getattr(s, attr) for s in side))

    roll_from_name: str | None = None
    if name is not None and name.roll is not None:
        roll_from_name = f"{name.camera or ''}{name.roll:03d}"
    elif "roll" in tokens:
        roll_from_name = f"{tokens.get('camera', '')}{int(str(tokens['roll'])):03d}"
    sidecar_camera = from_sidecars("camera_index")
    candidates: dict[str, Any] = {
        "codec": _first(tech.codec if tech else None, from_sidecars("codec")),
        "resolution": _first(tech.resolution if tech else None, from_sidecars("resolution")),
        "fps": _first(_fps_decimal(tech.fps) if tech else None, _fps_decimal(from_sidecars("fps"))),
        "duration_frames": _first(tech.duration_frames if tech else None, from_sidecars("duration_frames")),
        "start_tc": _first(tech.start_tc if tech else None, from_sidecars("start_timecode")),
        "reel": _first(
            tech.reel if tech else None, from_sidecars("reel"), tokens.get("reel"), roll_from_name
        ),
        "camera": _first(
            name.camera if name else None,
            tokens.get("camera"),
            sidecar_camera if isinstance(sidecar_camera, str) and len(sidecar_camera) <= 20 else None,
        ),
        "lens": from_sidecars("lens"),
        "scene": _first(from_sidecars("scene"), tokens.get("scene")),
        "take": _first(from_sidecars("take"), tokens.get("take")),
        **camera_settings(side),
    }
    values: dict[str, Any] = {}
    for key, value in candidates.items():
        if value is None or getattr(clip, key) not in (None, ""):
            continue
        if key == "duration_frames" and (not isinstance(value, int) or value <= 0):
            continue
        values[key] = _fit(clip, key, str(value) if key in ("scene", "take") else value)
    return values


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else value.numerator
    return value


def extra_values(clip: Clip, facts: Facts) -> dict[str, Any]:
    """What goes to ``Clip.extra``: technical details, sidecar values, name parts, thumbnail."""
    extra: dict[str, Any] = {}
    tech = facts.technical
    if tech is not None:
        extra["technical"] = {
            "source": facts.probed,
            "container": tech.container,
            "codec": tech.codec,
            "width": tech.width,
            "height": tech.height,
            "fps": _jsonable(tech.fps),
            "duration_frames": tech.duration_frames,
            "duration_seconds": tech.duration_seconds,
            "start_tc": tech.start_tc,
            "reel": tech.reel,
            "camera_make": tech.camera_make,
            "camera_model": tech.camera_model,
            "audio_channels": tech.audio_channels,
            "created_at": _jsonable(tech.created_at),
            "bit_rate": tech.extra.get("bit_rate"),
        }
    if facts.sidecars:
        first = facts.sidecars[0]
        values = {k: _jsonable(v) for k, v in first.normalized().items()}
        values["warnings"] = first.warnings[:20]
        if len(facts.sidecars) > 1:
            values["others"] = [s.source for s in facts.sidecars[1:]]
        extra["sidecar"] = values
    name = recognize_camera_name(clip.name)
    if name is not None:
        extra["camera_name"] = {
            "vendor": name.vendor,
            "camera": name.camera,
            "roll": name.roll,
            "clip": name.clip,
            "date": _jsonable(name.date),
            "month_day": list(name.month_day) if name.month_day else None,
            "card": name.card,
        }
    schema = naming_schema_for(rules_for(clip.project), clip.camera)
    tokens = schema.parse(clip.name) if schema is not None else None
    if tokens:
        extra["naming"] = {k: _jsonable(v) for k, v in tokens.items()}
    if facts.thumbnail:
        extra["thumbnail"] = f"{THUMBS_FOLDER}/{clip.project.code}/{clip.pk}.jpg"
    extra["extracted_at"] = timezone.now().isoformat()
    return extra


# --------------------------------------------------------------------------- #
# Recording (one durable transaction)
# --------------------------------------------------------------------------- #


@transaction.atomic(durable=True)
def clip_metadata_record(*, clip_id: int, facts: Facts, actor: AnyUser | None = None) -> Clip:
    """Write what ``read_clip_files`` found: fill empty fields, extra, review queue, audit.

    Returns the updated clip. The audit entry ``clip.extract`` holds the fields
    filled (before/after) and the problems found.
    """
    clip = Clip.objects.select_for_update(of=("self",)).select_related("project").get(pk=clip_id)
    values = proposed_values(clip, facts)
    before = model_snapshot(clip, list(values)) if values else {}
    for name, value in values.items():
        setattr(clip, name, value)
    clip.extra = {**clip.extra, **extra_values(clip, facts)}
    clip.save()
    counts = review_sync(
        project=clip.project,
        found={clip.pk: facts.problems},
        kinds=EXTRACTION_KINDS,
        actor=actor,
        closed_because="read successfully by a later extraction",
    )
    counts.add(review_clips_revalidate([clip.pk], actor=actor))
    open_items = ReviewItem.objects.filter(clip=clip, state=ReviewItem.State.OPEN).count()
    MetadataExtraction.objects.filter(clip=clip).update(
        state=MetadataExtraction.State.DONE, finished_at=timezone.now(), problems=open_items, error=""
    )
    audit_record(
        actor=actor,
        action="clip.extract",
        obj=clip,
        project=clip.project,
        before=before,
        after={
            **(model_snapshot(clip, list(values)) if values else {}),
            "thumbnail": facts.thumbnail,
            "problems": [p.message for p in facts.problems][:20],
            "review": counts.as_dict(),
        },
    )
    return clip


def clip_metadata_extract(*, clip_id: int, actor: AnyUser | None = None) -> Clip:
    """Read one clip's files and record the result (no claim: see ``clip_metadata_extract_run``)."""
    clip = Clip.objects.select_related("project").get(pk=clip_id)
    facts = read_clip_files(clip, _clip_files(clip_id))
    return clip_metadata_record(clip_id=clip_id, facts=facts, actor=actor)


# --------------------------------------------------------------------------- #
# Jobs: enqueue, claim, run, fail, recover
# --------------------------------------------------------------------------- #


def clip_metadata_enqueue(*, clip_ids: Iterable[int]) -> dict[str, int]:
    """Queue one extraction job per clip, each to the host that has its copy; returns ``{queue: count}``.

    Runs in a transaction of its own (or the caller's) and sends the jobs when it
    commits, so a worker never looks for a row that is not there yet.
    """
    from metadata.tasks import clip_metadata_extract_task

    ids = sorted(set(clip_ids))
    sent: dict[str, int] = {}
    if not ids:
        return sent
    now = timezone.now()
    # The files of every clip in one query (with their copies), not three queries a clip.
    copies = Copy.objects.select_related("volume")
    files: dict[int, list[MediaFile]] = {clip_id: [] for clip_id in ids}
    for media_file in (
        MediaFile.objects.filter(clip_id__in=ids)
        .select_related("card")
        .prefetch_related(Prefetch("copies", queryset=copies))
        .order_by("relative_path")
    ):
        files[media_file.clip_id].append(media_file)  # type: ignore[index]
    queues = {clip_id: extraction_queue(files[clip_id]) for clip_id in ids}
    with transaction.atomic():
        MetadataExtraction.objects.bulk_create(
            [
                MetadataExtraction(
                    clip_id=clip_id,
                    state=MetadataExtraction.State.QUEUED,
                    queue=queue,
                    queued_at=now,
                    error="",
                )
                for clip_id, queue in queues.items()
            ],
            update_conflicts=True,
            unique_fields=["clip"],
            update_fields=["state", "queue", "queued_at", "error"],
        )
        for clip_id, queue in queues.items():
            sent[queue] = sent.get(queue, 0) + 1
            transaction.on_commit(
                lambda clip_id=clip_id, queue=queue: clip_metadata_extract_task.apply_async(  # type: ignore[misc]
                    args=[clip_id], queue=queue
                )
            )
    return sent


def clip_metadata_enqueue_card(*, card_id: int) -> dict[str, int]:
    """Queue extraction for every clip with a file from this card (called when an offload finishes)."""
    clip_ids = (
        MediaFile.objects.filter(card_id=card_id, clip__isnull=False)
        .values_list("clip_id", flat=True)
        .distinct()
    )
    return clip_metadata_enqueue(clip_ids=[c for c in clip_ids if c is not None])


def clips_for(
    *, project: Project, card: Volume | None = None, day: ShootDay | None = None, names: Sequence[str] = ()
) -> list[int]:
    """Ids of the project's clips on a card, of a day, or with these names (all when none is given)."""
    clips = Clip.objects.filter(project=project)
    if card is not None:
        clips = clips.filter(Q(card=card) | Q(files__card=card))
    if day is not None:
        clips = clips.filter(day=day)
    if names:
        clips = clips.filter(name__in=list(names))
    return sorted(set(clips.values_list("pk", flat=True)))


@transaction.atomic(durable=True)
def clip_metadata_rerun(
    *,
    actor: AnyUser | None,
    project: Project,
    card: Volume | None = None,
    day: ShootDay | None = None,
    names: Sequence[str] = (),
) -> dict[str, int]:
    """Queue extraction again for a card, a day or named clips (audited); returns ``{queue: count}``.

    Re-extraction fills fields that are still empty, makes missing thumbnails and
    closes review items whose files now read correctly.
    """
    clip_ids = clips_for(project=project, card=card, day=day, names=names)
    sent = clip_metadata_enqueue(clip_ids=clip_ids)
    audit_record(
        actor=actor,
        action="clip.extract_requested",
        obj=project,
        project=project,
        after={
            "card": card.label if card else None,
            "day": day.number if day else None,
            "names": list(names)[:50],
            "clips": len(clip_ids),
            "queues": sent,
        },
    )
    return sent


def _claim(clip_id: int, *, retry: bool) -> bool:
    now = timezone.now()
    # A retry (after a transient database error) takes back its own running job;
    # anyone else waits until the lease is stale.
    running = Q(state=MetadataExtraction.State.RUNNING)
    if not retry:
        running &= Q(started_at__lt=now - EXTRACTION_STALE)
    claimable = Q(state=MetadataExtraction.State.QUEUED) | running
    rows = MetadataExtraction.objects.filter(Q(clip_id=clip_id) & claimable)
    return rows.update(state=MetadataExtraction.State.RUNNING, started_at=now, error="") == 1


def clip_metadata_extract_run(
    *, clip_id: int, actor: AnyUser | None = None, retry: bool = False
) -> Clip | None:
    """Claim the clip's queued extraction and run it; None when there was nothing to claim.

    Running twice is harmless: the second run finds the job done and returns None.
    ``retry`` is for the task's own retries after a transient error.
    """
    if not _claim(clip_id, retry=retry):
        return None
    MetadataExtraction.objects.filter(clip_id=clip_id).update(attempts=F("attempts") + 1)
    if not Clip.objects.filter(pk=clip_id).exists():
        return None
    return clip_metadata_extract(clip_id=clip_id, actor=actor)


def clip_metadata_extract_now(*, clip_ids: Sequence[int], actor: AnyUser | None = None) -> list[Clip]:
    """Extract in this process (the command line), one clip after another; returns the clips done."""
    done: list[Clip] = []
    for clip_id in clip_ids:
        MetadataExtraction.objects.update_or_create(
            clip_id=clip_id,
            defaults={"state": MetadataExtraction.State.QUEUED, "queue": "", "queued_at": timezone.now()},
        )
        clip = clip_metadata_extract_run(clip_id=clip_id, actor=actor)
        if clip is not None:
            done.append(clip)
    return done


def clip_metadata_extract_fail(*, clip_id: int, message: str) -> None:
    """Mark a job failed (the worker hit an unexpected error); the clip stays cataloged."""
    MetadataExtraction.objects.filter(clip_id=clip_id).exclude(state=MetadataExtraction.State.DONE).update(
        state=MetadataExtraction.State.FAILED, finished_at=timezone.now(), error=message[:4000]
    )


def clip_metadata_recover() -> list[int]:
    """Send again jobs lost with their message or their worker; returns their clip ids."""
    now = timezone.now()
    lost = MetadataExtraction.objects.filter(
        Q(state=MetadataExtraction.State.QUEUED, queued_at__lt=now - QUEUED_STALE)
        | Q(state=MetadataExtraction.State.RUNNING, started_at__lt=now - EXTRACTION_STALE)
    ).values_list("clip_id", flat=True)
    clip_ids = list(lost)
    if clip_ids:
        clip_metadata_enqueue(clip_ids=clip_ids)
    return clip_ids
