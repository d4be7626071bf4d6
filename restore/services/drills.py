"""Restore drills and their schedules: sample a tier, restore to scratch, time it, clean up."""

from __future__ import annotations

import logging
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.audit import audit_record
from catalog.models import Clip, Copy, MediaFile, Project, Volume
from catalog.permissions import AnyUser
from restore import selectors
from restore.alerting import drill_finished_after_commit
from restore.models import (
    DrillSchedule,
    RestoreDrill,
    RestoreRequest,
    RestoreTarget,
)
from restore.services.base import DrillError, user_id
from restore.services.requests import restore_request_record

logger = logging.getLogger(__name__)


def _drill_tiers(project: Project) -> list[str]:
    """Tiers that hold verified copies on online volumes, fastest first."""
    present = set(
        Copy.objects.filter(volume__project=project, state=Copy.State.VERIFIED, volume__online=True)
        .exclude(volume__kind=Volume.Kind.CARD)
        .values_list("volume__tier", flat=True)
        .distinct()
    )
    return [tier for tier in selectors.TIER_ORDER if tier in present]


def restore_drill_start(
    *,
    actor: AnyUser | None,
    project: Project,
    tier: str = "",
    sample_clips: int | None = None,
    trigger: str = RestoreDrill.Trigger.MANUAL,
    rng: random.Random | None = None,
) -> RestoreDrill:
    """Start a restore drill: a random sample of clips from one tier to the scratch target.

    Without ``tier``, tiers take turns (the one after the last drill's). The
    drill's restore needs no approval: it only writes to the scratch target
    and is deleted when verified. Raises DrillError when the project has no
    scratch target or no verified copies to sample.
    """
    target = (
        project.restore_targets.filter(scratch=True).order_by("pk").first()
        or project.restore_targets.filter(name="scratch").first()
    )
    if target is None:
        raise DrillError(f"project {project.code} has no scratch restore target: add one named 'scratch'")
    if target.kind != RestoreTarget.Kind.FOLDER:
        raise DrillError(
            f"the scratch target {target.name} of {project.code} is object storage; drills clean up "
            "a folder: make a folder the scratch target"
        )
    tiers = _drill_tiers(project)
    if tier:
        if tier not in tiers:
            raise DrillError(f"project {project.code} has no verified copies online in the {tier} tier")
    else:
        if not tiers:
            raise DrillError(f"project {project.code} has no verified copies online to drill with")
        last = project.restore_drills.values_list("tier", flat=True).first()
        tier = tiers[(tiers.index(last) + 1) % len(tiers)] if last in tiers else tiers[0]
    count = (
        sample_clips
        or getattr(getattr(project, "drill_schedule", None), "sample_clips", None)
        or (settings.REELVAULT_DRILL_SAMPLE_CLIPS)
    )
    eligible = list(
        Clip.objects.filter(
            project=project,
            files__copies__state=Copy.State.VERIFIED,
            files__copies__volume__tier=tier,
            files__copies__volume__online=True,
        )
        .exclude(files__copies__volume__kind=Volume.Kind.CARD)
        .values_list("pk", "name")
        .distinct()
        .order_by("pk")
    )
    picker = rng or random.Random()  # noqa: S311 - sampling, not security
    sample = picker.sample(eligible, min(count, len(eligible)))
    files = list(
        MediaFile.objects.filter(
            clip_id__in=[pk for pk, _ in sample],
            copies__state=Copy.State.VERIFIED,
            copies__volume__tier=tier,
            copies__volume__online=True,
        )
        .select_related("card", "clip")
        .distinct()
        .order_by("pk")
    )
    if not files:
        raise DrillError(f"no file of project {project.code} has a verified copy in the {tier} tier")
    with transaction.atomic():
        drill = RestoreDrill.objects.create(
            project=project,
            tier=tier,
            trigger=trigger,
            started_by_id=user_id(actor),
            clips=sorted(name for _, name in sample),
            bytes=sum(f.size for f in files),
        )
        audit_record(
            actor=actor,
            action="restore.drill_start",
            obj=drill,
            project=project,
            after={"tier": tier, "trigger": trigger, "clips": drill.clips, "bytes": drill.bytes},
        )
    restore = restore_request_record(
        actor=actor,
        project=project,
        target=target,
        files=files,
        reason=f"restore drill {drill.pk} ({tier} tier, {trigger})",
        selection={"drill": drill.pk, "clips": [pk for pk, _ in sample]},
        required_approvals=0,
        is_drill=True,
        source_tier=tier,
    )
    RestoreDrill.objects.filter(pk=drill.pk).update(request=restore)
    drill.refresh_from_db()
    return drill


def restore_folder_remove(*, folder: Path, inside: Path) -> None:
    """Delete a restore folder (drill cleanup); refuses anything not strictly inside ``inside``."""
    folder, inside = folder.resolve(), inside.resolve()
    if folder == inside or inside not in folder.parents:
        raise ValueError(f"refusing to delete {folder}: it is not inside the target folder {inside}")
    if folder.exists():
        shutil.rmtree(folder)


def restore_drill_finish(*, restore: RestoreRequest) -> None:
    """Record the drill's time and speed, clean the scratch target, alert on failure."""
    drill = RestoreDrill.objects.filter(request=restore).select_related("project").first()
    if drill is None or drill.state != RestoreDrill.State.RUNNING:
        return
    errors = [restore.error] if restore.error else []
    cleaned = False
    try:
        root = Path(restore.target.path)
        restore_folder_remove(folder=root / restore.folder, inside=root)
        cleaned = True
    except (OSError, ValueError) as exc:
        errors.append(f"the scratch folder could not be cleaned: {exc}")
    passed = restore.state == RestoreRequest.State.VERIFIED and not errors
    finished = timezone.now()
    seconds = (finished - drill.created_at).total_seconds()
    mb_per_second = (
        restore.size_bytes / restore.seconds / 1_000_000 if restore.seconds > 0 and passed else None
    )
    with transaction.atomic():
        RestoreDrill.objects.filter(pk=drill.pk).update(
            state=RestoreDrill.State.PASSED if passed else RestoreDrill.State.FAILED,
            seconds=seconds,
            mb_per_second=mb_per_second,
            cleaned=cleaned,
            error="\n".join(errors),
            finished_at=finished,
        )
        audit_record(
            actor=None,
            action="restore.drill_finish",
            obj=drill,
            project=drill.project,
            after={
                "passed": passed,
                "seconds": round(seconds, 3),
                "mb_per_second": mb_per_second,
                "cleaned": cleaned,
                "error": "\n".join(errors),
            },
        )
        # A failed drill raises an alert, a passed one clears it, after the commit (restore/alerting.py).
        drill_finished_after_commit(drill_id=drill.pk)


def restore_drills_due(*, now: datetime | None = None) -> list[int]:
    """Start the drills whose schedule is due (beat calls this); return the new drill ids."""
    now = now or timezone.now()
    started = []
    for schedule in DrillSchedule.objects.filter(enabled=True).select_related("project"):
        project = schedule.project
        if project.restore_drills.filter(state=RestoreDrill.State.RUNNING).exists():
            continue
        last = project.restore_drills.filter(trigger=RestoreDrill.Trigger.SCHEDULE).first()
        if last is not None and last.created_at > now - timedelta(hours=schedule.interval_hours):
            continue
        try:
            drill = restore_drill_start(
                actor=None,
                project=project,
                trigger=RestoreDrill.Trigger.SCHEDULE,
                sample_clips=schedule.sample_clips,
            )
        except DrillError as exc:
            logger.warning("scheduled drill of %s not started: %s", project.code, exc)
            continue
        started.append(drill.pk)
    return started


@transaction.atomic(durable=True)
def drill_schedule_set(
    *, actor: AnyUser | None, project: Project, interval_hours: int, sample_clips: int, enabled: bool = True
) -> DrillSchedule:
    schedule, _ = DrillSchedule.objects.update_or_create(
        project=project,
        defaults={"interval_hours": interval_hours, "sample_clips": sample_clips, "enabled": enabled},
    )
    schedule.full_clean()
    audit_record(
        actor=actor,
        action="restore.drill_schedule",
        obj=schedule,
        project=project,
        after={"interval_hours": interval_hours, "sample_clips": sample_clips, "enabled": enabled},
    )
    return schedule
