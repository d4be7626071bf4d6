"""Restore drills and their schedules: sample a tier, restore to scratch, time it, clean up."""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from catalog.audit import audit_record
from catalog.models import Clip, Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser
from restore import selectors
from restore.alerting import drill_finished_after_commit, drill_not_started, drill_started
from restore.models import (
    DrillSchedule,
    RestoreDrill,
    RestoreItem,
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


def _scratch_target(project: Project) -> RestoreTarget:
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
    return target


def restore_drill_start(
    *,
    actor: AnyUser | None,
    project: Project,
    tier: str = "",
    sample_clips: int | None = None,
    trigger: str = RestoreDrill.Trigger.MANUAL,
    rng: random.Random | None = None,
    schedule: DrillSchedule | None = None,
) -> RestoreDrill:
    """Start a restore drill: a random sample of clips from one tier to the scratch target.

    Without ``tier``, tiers take turns (the one after the last drill's). The
    drill's restore needs no approval: it only writes to the scratch target
    and is deleted when verified. Raises DrillError when the project has no
    scratch target or no verified copies to sample.
    """
    target = _scratch_target(project)
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
        or project.drill_schedules.filter(scenario=RestoreDrill.Scenario.SAMPLE)
        .values_list("sample_clips", flat=True)
        .first()
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
            schedule=schedule,
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
    if drill.scenario != RestoreDrill.Scenario.SAMPLE:
        with transaction.atomic():
            _scenario_record(drill, restore=restore, error="\n".join(errors))
            RestoreDrill.objects.filter(pk=drill.pk).update(cleaned=cleaned)
        return
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


def _schedule_day(schedule: DrillSchedule, rng: random.Random) -> int | None:
    """The shoot day a scheduled whole-day drill restores, by the schedule's rule (None: the latest)."""
    if schedule.day_rule == DrillSchedule.DayRule.LATEST:
        return None
    numbers = list(
        schedule.project.days.filter(clips__files__isnull=False)
        .values_list("number", flat=True)
        .distinct()
        .order_by("number")
    )
    if not numbers:
        return None  # the drill itself says there is no day to drill with
    if schedule.day_rule == DrillSchedule.DayRule.RANDOM:
        return rng.choice(numbers)
    last = schedule.drills.exclude(day=None).values_list("day__number", flat=True).first()
    later = [n for n in numbers if last is not None and n > last]
    return later[0] if later else numbers[0]


def _schedule_start(schedule: DrillSchedule, rng: random.Random) -> RestoreDrill:
    project = schedule.project
    trigger = RestoreDrill.Trigger.SCHEDULE
    if schedule.scenario == RestoreDrill.Scenario.SAMPLE:
        return restore_drill_start(
            actor=None,
            project=project,
            tier=schedule.tier,
            trigger=trigger,
            sample_clips=schedule.sample_clips,
            rng=rng,
            schedule=schedule,
        )
    return restore_drill_scenario_start(
        actor=None,
        project=project,
        scenario=schedule.scenario,
        day=_schedule_day(schedule, rng),
        tier=schedule.tier,
        site=schedule.site,
        trigger=trigger,
        schedule=schedule,
    )


def restore_drills_due(*, now: datetime | None = None, rng: random.Random | None = None) -> list[int]:
    """Start the drills whose schedule is due (beat calls this); return the new drill ids.

    Each schedule is due once its interval has passed since the last drill it
    started. One drill runs at a time per project (its time to restore is then
    its own, not shared with another drill's copies): a second due schedule
    waits for the next pass. A due drill that cannot start (no scratch target,
    no card, no volume in the tier) keeps the reason on its schedule and
    raises a warning alert (``restore.drill_not_started``), resolved when one starts.
    """
    now = now or timezone.now()
    picker = rng or random.Random()  # noqa: S311 - choosing a day to rehearse, not security
    started = []
    busy: set[int] = set(
        RestoreDrill.objects.filter(state=RestoreDrill.State.RUNNING).values_list("project_id", flat=True)
    )
    schedules = (
        DrillSchedule.objects.filter(enabled=True)
        .select_related("project")
        .annotate(last=Max("drills__created_at"))
        # The longest waiting first (never drilled before all), so no schedule starves another.
        .order_by(F("last").asc(nulls_first=True), "pk")
    )
    for schedule in schedules:
        if schedule.project_id in busy:
            continue
        last = schedule.last
        if last is not None and last > now - timedelta(hours=schedule.interval_hours):
            continue
        try:
            drill = _schedule_start(schedule, picker)
        except DrillError as exc:
            logger.warning("scheduled drill of %s not started: %s", schedule.project.code, exc)
            if schedule.last_error != str(exc):
                DrillSchedule.objects.filter(pk=schedule.pk).update(last_error=str(exc))
                drill_not_started(schedule_id=schedule.pk, reason=str(exc))
            continue
        if schedule.last_error:
            DrillSchedule.objects.filter(pk=schedule.pk).update(last_error="")
            drill_started(schedule_id=schedule.pk, drill_id=drill.pk)
        busy.add(schedule.project_id)
        started.append(drill.pk)
    return started


@dataclass(frozen=True)
class ScheduleSpec:
    """What a drill schedule rehearses and how often."""

    scenario: str = RestoreDrill.Scenario.SAMPLE
    interval_hours: int = 24 * 7
    sample_clips: int = 3
    tier: str = ""
    site: str = ""
    day_rule: str = DrillSchedule.DayRule.LATEST
    enabled: bool = True


@transaction.atomic(durable=True)
def drill_schedule_set(*, actor: AnyUser | None, project: Project, spec: ScheduleSpec) -> DrillSchedule:
    """Create or change the project's schedule of one scenario (with its tier or site); return it.

    A project has one schedule per scenario and tier/site: setting it again
    changes interval, clips, day rule or enabled. Raises DrillError naming
    what is wrong (an unknown scenario, a tier loss without tier or site, an
    interval under one hour).
    """
    if spec.scenario not in RestoreDrill.Scenario.values:
        raise DrillError(f"no drill scenario {spec.scenario!r}: " + ", ".join(RestoreDrill.Scenario.values))
    tier, site = spec.tier.strip(), spec.site.strip()
    if tier and tier not in Volume.Tier.values:
        raise DrillError(f"no tier {tier!r}: hot, warm or cold")
    if spec.scenario == RestoreDrill.Scenario.TIER_LOSS and not (tier or site):
        raise DrillError("a loss-of-tier schedule needs the tier (hot, warm, cold) or the site (host) lost")
    if spec.scenario in (RestoreDrill.Scenario.CARD_CORRUPTION, RestoreDrill.Scenario.LOCAL_FAILURE):
        tier, site = "", ""
    if spec.scenario != RestoreDrill.Scenario.TIER_LOSS:
        site = ""
    if tier and site:
        raise DrillError("a loss-of-tier schedule names a tier or a site, not both")
    if spec.day_rule not in DrillSchedule.DayRule.values:
        raise DrillError(f"no day rule {spec.day_rule!r}: " + ", ".join(DrillSchedule.DayRule.values))
    if spec.interval_hours < 1:
        raise DrillError("a drill schedule's interval is at least one hour")
    if spec.sample_clips < 1:
        raise DrillError("a sample drill restores at least one clip")
    existing = DrillSchedule.objects.filter(
        project=project, scenario=spec.scenario, tier=tier, site=site
    ).first()
    before = (
        {
            "interval_hours": existing.interval_hours,
            "sample_clips": existing.sample_clips,
            "day_rule": existing.day_rule,
            "enabled": existing.enabled,
        }
        if existing
        else None
    )
    schedule, _ = DrillSchedule.objects.update_or_create(
        project=project,
        scenario=spec.scenario,
        tier=tier,
        site=site,
        defaults={
            "interval_hours": spec.interval_hours,
            "sample_clips": spec.sample_clips,
            "day_rule": spec.day_rule,
            "enabled": spec.enabled,
        },
    )
    schedule.full_clean()
    audit_record(
        actor=actor,
        action="restore.drill_schedule",
        obj=schedule,
        project=project,
        before=before,
        after={
            "scenario": spec.scenario,
            "tier": tier,
            "site": site,
            "day_rule": spec.day_rule,
            "interval_hours": spec.interval_hours,
            "sample_clips": spec.sample_clips,
            "enabled": spec.enabled,
        },
    )
    return schedule


# --- Scenario drills ---------------------------------------------------------------------------

#: A scenario drill slower than the runbook's expected time by this factor is "over time".
OVER_TIME_FACTOR = 1.5


@dataclass(frozen=True)
class ScenarioPlan:
    """What a scenario treats as gone, and what that leaves for the restore."""

    lost: str
    excluded_volume_ids: list[int]
    day: ShootDay | None
    files: list[MediaFile]  # the files the drill must bring back
    restorable: list[MediaFile]  # the ones with a verified copy outside what was lost
    unrecoverable_clips: list[str]  # clips with a file that has none: the policy holes


def _clip_name(media_file: MediaFile) -> str:
    return media_file.clip.name if media_file.clip is not None else media_file.relative_path


def _scenario_day(project: Project, day: int | None) -> ShootDay:
    if day is not None:
        found = project.days.filter(number=day).order_by("unit").first()
        if found is None:
            raise DrillError(f"project {project.code} has no shoot day {day}")
        return found
    latest = project.days.filter(clips__files__isnull=False).order_by("-number").first()
    if latest is None:
        raise DrillError(f"project {project.code} has no shoot day with files to drill with")
    return latest


def _first_copy_volumes(files: Sequence[MediaFile]) -> set[int]:
    """The volume of each file's first copy: the one a restore would read first (cards aside)."""
    first: dict[int, int] = {}
    copies = (
        Copy.objects.filter(media_file__in=files, state=Copy.State.VERIFIED)
        .exclude(volume__kind=Volume.Kind.CARD)
        .annotate(tier_rank=selectors.TIER_RANK)
        .order_by("media_file_id", "tier_rank", "verified_at", "pk")
        .values_list("media_file_id", "volume_id")
    )
    for media_file_id, volume_id in copies:
        first.setdefault(media_file_id, volume_id)
    return set(first.values())


def restore_drill_plan(
    *,
    project: Project,
    scenario: str,
    day: int | None = None,
    card: str = "",
    tier: str = "",
    site: str = "",
) -> ScenarioPlan:
    """Work out what a scenario leaves: never touches a copy, only decides which to ignore.

    - card corruption: the files of a verified card (``card``, else the most
      recent card with verified copies) are unreadable on their first copy;
    - loss of a tier (``tier``) or a site (``site``: the host whose volumes
      are all gone) for a whole shoot day (``day``, else the latest);
    - complete local failure: only off-site copies remain, for a whole day.
    Camera cards never count as what remains (they are reformatted). Raises
    DrillError when the scenario's parameters name nothing.
    """
    volumes = project.volumes.all()
    cards = set(volumes.filter(kind=Volume.Kind.CARD).values_list("pk", flat=True))
    shoot_day: ShootDay | None = None
    if scenario == RestoreDrill.Scenario.CARD_CORRUPTION:
        # A verified card: its files have a verified copy somewhere other than a card.
        verified = MediaFile.objects.filter(
            clip__project=project,
            copies__state=Copy.State.VERIFIED,
            copies__volume__kind__in=[kind for kind in Volume.Kind.values if kind != Volume.Kind.CARD],
        )
        the_card = (
            volumes.filter(kind=Volume.Kind.CARD, label__iexact=card).first()
            if card
            else volumes.filter(kind=Volume.Kind.CARD)
            .filter(Q(card_files__in=verified) | Q(clips_recorded__files__in=verified))
            .distinct()
            .order_by("-pk")
            .first()
        )
        if the_card is None:
            raise DrillError(
                f"project {project.code} has no verified camera card {card or ''}".strip()
                + ": no file or clip records the card it was offloaded from"
            )
        files = list(
            MediaFile.objects.filter(Q(card=the_card) | Q(clip__card=the_card))
            .select_related("clip", "card")
            .distinct()
            .order_by("pk")
        )
        first = _first_copy_volumes(files)
        labels = ", ".join(sorted(volumes.filter(pk__in=first).values_list("label", flat=True)))
        lost = f"card {the_card.label}: its files unreadable on their first copy ({labels or 'none'})"
        excluded = first | cards
    else:
        shoot_day = _scenario_day(project, day)
        files = list(
            MediaFile.objects.filter(clip__day=shoot_day).select_related("clip", "card").order_by("pk")
        )
        if scenario == RestoreDrill.Scenario.TIER_LOSS:
            if site:
                gone = volumes.filter(host=site)
                what = f"site {site}"
            elif tier in Volume.Tier.values:
                gone = volumes.filter(tier=tier)
                what = f"the {Volume.Tier(tier).label.lower()} tier"
            else:
                raise DrillError("say which tier (hot, warm, cold) or site (host) is lost")
            names = ", ".join(sorted(gone.exclude(kind=Volume.Kind.CARD).values_list("label", flat=True)))
            if not names:
                raise DrillError(f"project {project.code} has no volume in {what}")
            lost = f"{what} ({names}), day {shoot_day.number}"
            excluded = set(gone.values_list("pk", flat=True)) | cards
        elif scenario == RestoreDrill.Scenario.LOCAL_FAILURE:
            excluded = set(volumes.filter(offsite=False).values_list("pk", flat=True)) | cards
            lost = f"every local volume (only off-site copies remain), day {shoot_day.number}"
        else:
            raise DrillError(f"unknown scenario {scenario!r}")
    if not files:
        raise DrillError(f"nothing to drill with: no files in {lost}")
    remaining = set(
        Copy.objects.filter(media_file__in=files, state=Copy.State.VERIFIED)
        .exclude(volume_id__in=excluded)
        .values_list("media_file_id", flat=True)
    )
    restorable = [f for f in files if f.pk in remaining]
    holes = sorted({_clip_name(f) for f in files if f.pk not in remaining})
    return ScenarioPlan(lost, sorted(excluded), shoot_day, files, restorable, holes)


def restore_drill_scenario_start(
    *,
    actor: AnyUser | None,
    project: Project,
    scenario: str,
    day: int | None = None,
    card: str = "",
    tier: str = "",
    site: str = "",
    trigger: str = RestoreDrill.Trigger.MANUAL,
    schedule: DrillSchedule | None = None,
) -> RestoreDrill:
    """Start a scenario drill: restore to scratch what the scenario leaves, as if the rest were gone.

    The drill marks nothing: the lost volumes are only left out of its own
    restore's plan (``RestoreRequest.excluded_volume_ids``). Clips that have
    no copy outside them are recorded at once as ``unrecoverable`` (a policy
    hole) and fail the drill when it finishes; when nothing at all is left,
    the drill fails at once. Raises DrillError on bad parameters or without a
    scratch folder target.
    """
    target = _scratch_target(project)
    plan = restore_drill_plan(project=project, scenario=scenario, day=day, card=card, tier=tier, site=site)
    trends = {t.tier: t for t in selectors.drill_trends(project=project)}
    expected = _expected_seconds(plan, trends)
    with transaction.atomic():
        drill = RestoreDrill.objects.create(
            project=project,
            scenario=scenario,
            trigger=trigger,
            schedule=schedule,
            started_by_id=user_id(actor),
            lost=plan.lost[:300],
            day=plan.day,
            clips=sorted({_clip_name(f) for f in plan.restorable}),
            bytes=sum(f.size for f in plan.restorable),
            unrecoverable=plan.unrecoverable_clips,
            unrecoverable_files=len(plan.files) - len(plan.restorable),
            expected_seconds=expected,
        )
        audit_record(
            actor=actor,
            action="restore.drill_start",
            obj=drill,
            project=project,
            after={
                "scenario": scenario,
                "lost": drill.lost,
                "trigger": trigger,
                "files": len(plan.restorable),
                "bytes": drill.bytes,
                "unrecoverable": plan.unrecoverable_clips,
            },
        )
        if not plan.restorable:
            _scenario_record(drill, restore=None, error="nothing could be restored: every copy was lost")
            return drill
    restore = restore_request_record(
        actor=actor,
        project=project,
        target=target,
        files=plan.restorable,
        reason=f"restore drill {drill.pk} ({drill.get_scenario_display()}: {plan.lost})",
        selection={"drill": drill.pk, "scenario": scenario},
        required_approvals=0,
        is_drill=True,
        excluded_volume_ids=plan.excluded_volume_ids,
    )
    RestoreDrill.objects.filter(pk=drill.pk).update(request=restore)
    drill.refresh_from_db()
    return drill


def _expected_seconds(plan: ScenarioPlan, trends: dict[str, selectors.TierTrend]) -> float | None:
    """The runbook's expected time: each file from its best remaining tier, at that tier's measured speed.

    None when a tier it needs was never measured by a drill (the runbook says "not measured").
    """
    excluded = set(plan.excluded_volume_ids)
    best: dict[int, str] = {}
    rows = (
        Copy.objects.filter(media_file__in=plan.restorable, state=Copy.State.VERIFIED)
        .exclude(volume_id__in=excluded)
        .annotate(tier_rank=selectors.TIER_RANK)
        .order_by("media_file_id", "tier_rank")
        .values_list("media_file_id", "volume__tier")
    )
    for media_file_id, tier in rows:
        best.setdefault(media_file_id, tier)
    total = 0.0
    for media_file in plan.restorable:
        speed = trends[best[media_file.pk]].median_mb_per_second if media_file.pk in best else None
        if not speed:
            return None
        total += media_file.size / (speed * 1_000_000)
    return total


def _per_tier(restore: RestoreRequest) -> dict[str, dict[str, float]]:
    """Files, bytes, seconds and MB/s of a finished restore per tier its copies came from."""
    result: dict[str, dict[str, float]] = {}
    rows = (
        restore.items.filter(state=RestoreItem.State.VERIFIED, source_copy__isnull=False)
        .values("source_copy__volume__tier")
        .annotate(files=Count("id"), bytes=Sum("size"), seconds=Sum("seconds"))
    )
    for row in rows:
        seconds = float(row["seconds"] or 0)
        size = int(row["bytes"] or 0)
        result[str(row["source_copy__volume__tier"])] = {
            "files": int(row["files"]),
            "bytes": size,
            "seconds": round(seconds, 3),
            "mb_per_second": round(size / seconds / 1_000_000, 2) if seconds > 0 else 0.0,
        }
    return result


def _scenario_record(drill: RestoreDrill, *, restore: RestoreRequest | None, error: str) -> None:
    """Finish a scenario drill inside the caller's transaction: holes, time per tier, time vs runbook."""
    errors = [error] if error else []
    if drill.unrecoverable:
        errors.insert(
            0,
            f"{len(drill.unrecoverable)} clip(s) ({drill.unrecoverable_files} file(s)) could not be restored "
            f"at all, no copy survives the scenario ({drill.lost}): " + ", ".join(drill.unrecoverable[:20]),
        )
    per_tier = _per_tier(restore) if restore is not None else {}
    seconds = restore.seconds if restore is not None else 0.0
    verified = restore is not None and restore.state == RestoreRequest.State.VERIFIED
    passed = verified and not errors
    over_time = bool(
        passed and drill.expected_seconds and seconds > drill.expected_seconds * OVER_TIME_FACTOR
    )
    finished = timezone.now()
    RestoreDrill.objects.filter(pk=drill.pk).update(
        state=RestoreDrill.State.PASSED if passed else RestoreDrill.State.FAILED,
        seconds=(finished - drill.created_at).total_seconds() if restore is not None else None,
        mb_per_second=(restore.size_bytes / seconds / 1_000_000)
        if restore and seconds > 0 and passed
        else None,
        per_tier=per_tier,
        over_time=over_time,
        error="\n".join(errors),
        finished_at=finished,
    )
    audit_record(
        actor=None,
        action="restore.drill_finish",
        obj=drill,
        project=drill.project,
        after={
            "scenario": drill.scenario,
            "passed": passed,
            "unrecoverable": drill.unrecoverable,
            "per_tier": per_tier,
            "expected_seconds": drill.expected_seconds,
            "over_time": over_time,
            "error": "\n".join(errors),
        },
    )
    drill_finished_after_commit(drill_id=drill.pk)
