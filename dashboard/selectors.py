"""Reads for the producer's view: each shoot day's figures, its traffic light, sign-off state, trends.

``days_figures`` computes every figure of any number of days in a fixed
number of aggregate queries (eight), never one query per day or per clip:
the dashboard, the API, the daily report and the sign-off check all use it,
so they always agree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from alerts.models import Alert, Delivery, Severity
from catalog.models import Clip, Copy, DaySignOff, Project, ShootDay, Volume
from catalog.policy import ShortClip, TierReach, policy_by_day, short_clips, tiers_by_day
from catalog.selectors import signed_off_day_ids
from dashboard.models import DailyReport, ExpectedCard, ReportSubscription
from ingest.models import OffloadJob
from metadata.models import ReviewItem
from restore.models import RestoreDrill

FAILED_COPY_STATES = (Copy.State.CORRUPT, Copy.State.MISSING, Copy.State.FAILED)
PENDING_JOB_STATES = (OffloadJob.State.QUEUED, OffloadJob.State.RUNNING)
FAILING_JOB_STATES = (OffloadJob.State.FAILED, OffloadJob.State.INCOMPLETE)


class Light(StrEnum):
    """A day's traffic light. The label always goes with the colour (never colour alone)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"


def card_key(label: str) -> str:
    """A card or roll name reduced for matching: ``A34``, ``A034`` and ``A034_R1AB`` are all ``A34``."""
    upper = label.strip().upper()
    match = re.match(r"([A-Z]+)0*(\d+)", upper)
    if match:
        return f"{match.group(1)}{int(match.group(2))}"
    return re.sub(r"[^A-Z0-9]", "", upper)


def policy_text(project: Project) -> str:
    """The project's policy in words: "3 verified copies on 2 kinds of media, 1 off-site"."""
    text = f"{project.required_copies} verified copies on {project.required_media_kinds} kind(s) of media"
    return text + (f", {project.required_offsite} off-site" if project.required_offsite else "")


@dataclass(frozen=True)
class SignOffState:
    action: str
    actor: str
    at: datetime
    comment: str


@dataclass
class DayFigures:
    """Everything the producer's view says about one shoot day."""

    day: ShootDay
    clips: int = 0
    files: int = 0
    bytes: int = 0
    clips_meeting_policy: int = 0
    clips_short_of_policy: int = 0
    oldest_gap_at: datetime | None = None
    cards_offloaded: list[str] = field(default_factory=list)
    cards_expected: list[str] = field(default_factory=list)
    cards_missing: list[str] = field(default_factory=list)
    jobs_pending: list[str] = field(default_factory=list)  # card labels of queued or running offloads
    jobs_failing: list[str] = field(default_factory=list)  # cards whose last offload failed
    jobs_completed: int = 0
    jobs_finished: int = 0  # completed + incomplete + failed: the transfer success rate's denominator
    transfer_bytes_done: int = 0  # of the running offloads: for live progress
    transfer_bytes_total: int = 0
    copies_corrupt: int = 0
    copies_missing: int = 0
    copies_failed: int = 0
    review_open: int = 0
    signoff: SignOffState | None = None
    tiers: list[TierReach] = field(default_factory=list)  # kinds of media holding the day's files

    @property
    def signed_off(self) -> bool:
        return self.signoff is not None and self.signoff.action == DaySignOff.Action.SIGN_OFF

    @property
    def verification_failures(self) -> int:
        return self.copies_corrupt + self.copies_missing + self.copies_failed

    @property
    def policy_met(self) -> bool:
        return self.clips > 0 and self.clips_short_of_policy == 0

    @property
    def gap_overdue(self) -> bool:
        """A clip has been short of the policy for longer than REELVAULT_POLICY_GAP_ALERT_SECONDS."""
        limit = timedelta(seconds=settings.REELVAULT_POLICY_GAP_ALERT_SECONDS)
        return self.oldest_gap_at is not None and timezone.now() - self.oldest_gap_at > limit

    @property
    def transfer_success_rate(self) -> float | None:
        return self.jobs_completed / self.jobs_finished if self.jobs_finished else None

    @property
    def light(self) -> Light:
        if self.jobs_failing or self.verification_failures or self.gap_overdue:
            return Light.RED
        if not self.clips and not self.jobs_pending and not self.cards_expected:
            return Light.GREY
        if self.jobs_pending or not self.policy_met or self.cards_missing:
            return Light.AMBER
        return Light.GREEN

    @property
    def state_label(self) -> str:
        return {
            Light.RED: "Needs attention",
            Light.AMBER: "In progress",
            Light.GREY: "No footage yet",
            Light.GREEN: "Signed off" if self.signed_off else "Ready to sign off",
        }[self.light]

    @property
    def blockers(self) -> list[str]:
        """Why the day cannot be signed off now; empty when it can."""
        reasons = []
        if not self.clips:
            reasons.append("no clip of this day is in the catalog yet")
        elif self.clips_short_of_policy:
            reasons.append(
                f"{self.clips_short_of_policy} of {self.clips} clips do not meet the storage policy "
                f"({policy_text(self.day.project)})"
            )
        if self.jobs_failing:
            reasons.append(f"the offload of card(s) {', '.join(self.jobs_failing)} failed or is incomplete")
        if self.jobs_pending:
            reasons.append(f"card(s) {', '.join(self.jobs_pending)} are still being offloaded")
        if self.cards_missing:
            reasons.append(
                f"card(s) {', '.join(self.cards_missing)} listed in the camera report are not offloaded yet"
            )
        return reasons

    def as_json(self) -> dict[str, Any]:
        """The figures as the API, the daily report and the sign-off record show them."""
        return {
            "project": self.day.project.code,
            "day": self.day.number,
            "unit": self.day.unit,
            "date": self.day.date.isoformat(),
            "state": self.light.value,
            "state_label": self.state_label,
            "signed_off": self.signed_off,
            "signoff": None
            if self.signoff is None
            else {
                "action": self.signoff.action,
                "by": self.signoff.actor,
                "at": self.signoff.at.isoformat(),
                "comment": self.signoff.comment,
            },
            "cards": {
                "offloaded": self.cards_offloaded,
                "expected": self.cards_expected,
                "missing": self.cards_missing,
            },
            "clips": self.clips,
            "files": self.files,
            "bytes": self.bytes,
            "terabytes": round(self.bytes / 1e12, 4),
            "policy": {
                "required_copies": self.day.project.required_copies,
                "required_media_kinds": self.day.project.required_media_kinds,
                "required_offsite": self.day.project.required_offsite,
                "text": policy_text(self.day.project),
                "met": self.policy_met,
                "clips_meeting": self.clips_meeting_policy,
                "clips_short": self.clips_short_of_policy,
                "oldest_gap_at": self.oldest_gap_at.isoformat() if self.oldest_gap_at else None,
            },
            "jobs": {
                "pending": len(self.jobs_pending),
                "failing": len(self.jobs_failing),
                "pending_cards": self.jobs_pending,
                "failing_cards": self.jobs_failing,
                "completed": self.jobs_completed,
                "transfer_success_rate": self.transfer_success_rate,
                "bytes_done": self.transfer_bytes_done,
                "bytes_total": self.transfer_bytes_total,
            },
            "verification_failures": {
                "total": self.verification_failures,
                "corrupt": self.copies_corrupt,
                "missing": self.copies_missing,
                "failed": self.copies_failed,
            },
            "review_open": self.review_open,
            "blockers": self.blockers,
        }


def days_figures(*, days: Sequence[ShootDay]) -> list[DayFigures]:
    """The figures of the given days (of any projects), in their order. Eight queries in all.

    The days must come with their project (``select_related("project")``).
    """
    figures = {day.pk: DayFigures(day=day) for day in days}
    ids = list(figures)
    if not ids:
        return []
    # 1. Clips, bytes and the storage policy.
    for day_id, policy in policy_by_day(day_ids=ids).items():
        f = figures[day_id]
        f.clips, f.files, f.bytes = policy.clips, policy.files, policy.bytes
        f.clips_meeting_policy, f.clips_short_of_policy = policy.meeting, policy.short
        f.oldest_gap_at = policy.oldest_gap_at
    # 2. Offload jobs: a failed or incomplete job stops counting once a later
    # offload of the same card completed. A job recorded without a shoot day
    # (older offloads) counts on the day of the clips cataloged from its card.
    later_success = OffloadJob.objects.filter(
        card_id=OuterRef("card_id"), state=OffloadJob.State.COMPLETED, created_at__gt=OuterRef("created_at")
    )
    seen: dict[int, dict[str, str]] = defaultdict(dict)  # day -> card key -> label
    project_ids = {day.project_id for day in days}
    jobs = (
        OffloadJob.objects.filter(Q(day_id__in=ids) | Q(day__isnull=True, project_id__in=project_ids))
        .annotate(
            superseded=Exists(later_success),
            day_of=Coalesce(F("day_id"), card_day(), output_field=IntegerField()),
        )
        .order_by("created_at")
        .values_list("day_of", "label", "state", "superseded", "bytes_done", "bytes_total")
    )
    for day_id, label, state, superseded, done, total in jobs:
        if day_id not in figures:
            continue
        f = figures[day_id]
        seen[day_id].setdefault(card_key(label), label)
        if state in PENDING_JOB_STATES:
            f.jobs_pending.append(label)
            f.transfer_bytes_done += done
            f.transfer_bytes_total += total
        elif state in FAILING_JOB_STATES:
            f.jobs_finished += 1
            if not superseded and label not in f.jobs_failing:
                f.jobs_failing.append(label)
        elif state == OffloadJob.State.COMPLETED:
            f.jobs_finished += 1
            f.jobs_completed += 1
            if label not in f.cards_offloaded:
                f.cards_offloaded.append(label)
    # 3. Cards (or, for clips cataloged without a card, camera rolls) the day's clips came from.
    sources = (
        Clip.objects.filter(day_id__in=ids)
        .values_list("day_id", "card__label", "reel")
        .distinct()
        .order_by("day_id", "card__label", "reel")
    )
    for day_id, card_label, reel in sources:
        label = card_label or reel
        if not label:
            continue
        known = seen[day_id]
        if card_key(label) not in known:
            known[card_key(label)] = label
        if label not in figures[day_id].cards_offloaded and card_key(label) not in {
            card_key(x) for x in figures[day_id].jobs_pending + figures[day_id].jobs_failing
        }:
            figures[day_id].cards_offloaded.append(label)
    # 4. Cards a camera report says were shot.
    for day_id, label in ExpectedCard.objects.filter(day_id__in=ids).values_list("day_id", "label"):
        f = figures[day_id]
        f.cards_expected.append(label)
        if card_key(label) not in seen[day_id]:
            f.cards_missing.append(label)
    # 5. Copies that failed verification (corrupt, missing, failed), not on cards.
    copies = (
        Copy.objects.filter(media_file__clip__day_id__in=ids, state__in=FAILED_COPY_STATES)
        .exclude(volume__kind=Volume.Kind.CARD)
        .values_list("media_file__clip__day_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day_id, state, n in copies:
        setattr(figures[day_id], f"copies_{state}", n)
    # 6. The open review queue (metadata problems) of the day's clips and files.
    review = (
        ReviewItem.objects.filter(state=ReviewItem.State.OPEN)
        .annotate(day_id=Coalesce(F("clip__day_id"), F("media_file__clip__day_id")))
        .filter(day_id__in=ids)
        .values_list("day_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day_id, n in review:
        figures[day_id].review_open = n
    # 7. The latest sign-off or reopening of each day.
    latest = (
        DaySignOff.objects.filter(day_id__in=ids)
        .order_by("day_id", "-at", "-id")
        .distinct("day_id")
        .values_list("day_id", "action", "actor_name", "at", "comment")
    )
    for day_id, action, actor, at, comment in latest:
        figures[day_id].signoff = SignOffState(action, actor, at, comment)
    # 8. The tiers reached: per kind of media, how many of the day's files it holds.
    for day_id, tiers in tiers_by_day(day_ids=ids).items():
        figures[day_id].tiers = tiers
    for f in figures.values():
        f.cards_offloaded.sort()
    return [figures[day.pk] for day in days]


def card_day() -> Subquery:
    """For an offload job row: the shoot day of the clips cataloged from its card (the first, if several)."""
    return Subquery(
        Clip.objects.filter(card_id=OuterRef("card_id"), day__isnull=False)
        .order_by("day_id")
        .values("day_id")[:1]
    )


def day_jobs(*, day: ShootDay) -> QuerySet[OffloadJob]:
    """The day's offloads: recorded for it, or recorded without a day for a card whose clips are of it."""
    return (
        OffloadJob.objects.filter(project_id=day.project_id)
        .filter(Q(day=day) | Q(day__isnull=True))
        .annotate(day_of=Coalesce(F("day_id"), card_day(), output_field=IntegerField()))
        .filter(day_of=day.pk)
    )


def offloads_without_day(*, project: Project) -> list[OffloadJob]:
    """Offloads of the project that belong to no shoot day, not even through their card's clips.

    The dashboard lists them apart so that no offload goes uncounted.
    """
    return list(
        OffloadJob.objects.filter(project=project, day__isnull=True)
        .annotate(day_of=card_day())
        .filter(day_of__isnull=True)
        .order_by("-created_at")[:50]
    )


def project_days(*, project: Project) -> QuerySet[ShootDay]:
    return ShootDay.objects.filter(project=project).select_related("project").order_by("number", "unit")


def project_days_figures(*, project: Project) -> list[DayFigures]:
    """Every day of the project, with its figures (the overview and ``GET …/days/``)."""
    return days_figures(days=list(project_days(project=project)))


def day_figures(*, day: ShootDay) -> DayFigures:
    (figures,) = days_figures(days=[day])
    return figures


@dataclass(frozen=True)
class DayDetail:
    figures: DayFigures
    short_clips: list[ShortClip]
    jobs: list[OffloadJob]
    failed_copies: list[Copy]
    expected: list[ExpectedCard]
    history: list[DaySignOff]


def day_detail(*, day: ShootDay, limit: int = 200) -> DayDetail:
    """A day's figures and what lies behind them: short clips, jobs, failed copies, sign-off history."""
    return DayDetail(
        figures=day_figures(day=day),
        short_clips=short_clips(day_ids=[day.pk], limit=limit),
        jobs=list(day_jobs(day=day).order_by("-created_at")[:limit]),
        failed_copies=list(
            Copy.objects.filter(media_file__clip__day=day, state__in=FAILED_COPY_STATES)
            .exclude(volume__kind=Volume.Kind.CARD)
            .select_related("volume", "media_file__clip")
            .order_by("media_file__clip__name", "media_file__relative_path", "volume__label")[:limit]
        ),
        expected=list(ExpectedCard.objects.filter(day=day)),
        history=list(DaySignOff.objects.filter(day=day).order_by("-at", "-id")),
    )


# --- Sign-off as seen by the rest of the application -----------------------------------------


@dataclass(frozen=True)
class ReleasedCards:
    """What the latest sign-off or reopening says about the day's cards."""

    released: bool  # True: the cards may be reformatted; False: they were taken back
    labels: list[str]
    by: str
    at: datetime


def released_cards(*, history: Sequence[DaySignOff]) -> ReleasedCards | None:
    """From the day's history (newest first): the cards released for reformat, or taken back.

    None when the day was never signed off.
    """
    if not history:
        return None
    latest = history[0]
    if latest.action == DaySignOff.Action.SIGN_OFF:
        labels = [str(card["label"]) for card in latest.released_cards]
        return ReleasedCards(True, labels, latest.actor_name, latest.at)
    previous = next((h for h in history if h.action == DaySignOff.Action.SIGN_OFF), None)
    labels = [str(card["label"]) for card in previous.released_cards] if previous else []
    return ReleasedCards(False, labels, latest.actor_name, latest.at)


def card_released_for_reformat(*, card: Volume) -> bool:
    """Did a sign-off that still stands release this card for reformat?"""
    days = DaySignOff.objects.filter(released_cards__contains=[{"id": card.pk}]).values_list(
        "day_id", flat=True
    )
    return bool(signed_off_day_ids(day_ids=list(days)))


# --- Alerts, reports, subscriptions ----------------------------------------------------------


def severity_rank() -> Case:
    """Critical first, then warnings, then information (for ordering alerts)."""
    return Case(
        When(severity=Severity.CRITICAL, then=Value(0)),
        When(severity=Severity.WARNING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def project_open_alerts(*, project: Project, limit: int = 20) -> list[Alert]:
    return list(
        Alert.objects.filter(project=project)
        .exclude(state=Alert.State.RESOLVED)
        .order_by(severity_rank(), "-last_seen_at")[:limit]
    )


def report_list(*, project: Project) -> QuerySet[DailyReport]:
    return DailyReport.objects.filter(project=project).defer("html", "pdf", "data").order_by("-report_date")


def is_subscribed(*, project: Project, user_id: int) -> bool:
    return ReportSubscription.objects.filter(project=project, user_id=user_id).exists()


# --- Trends ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trends:
    days: list[DayFigures]
    drills: list[tuple[date, float]]  # date, average seconds to restore (passed drills)
    backlog: list[tuple[date, int]]  # date, open review items at the end of that date


_BACKLOG_SQL = """
SELECT d::date,
       (SELECT count(*) FROM ingest_reviewitem r
         WHERE r.project_id = %(project)s
           AND r.created_at < d + interval '1 day'
           AND (r.state = 'open' OR (r.resolved_at IS NOT NULL AND r.resolved_at >= d + interval '1 day')))
  FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d
 ORDER BY d
"""


def review_backlog(*, project: Project, start: date, end: date) -> list[tuple[date, int]]:
    """Open review items at the end of each date (one query).

    An item counts from its creation until it was resolved; an item still
    open counts on every date since its creation.
    """
    with connection.cursor() as cursor:
        cursor.execute(_BACKLOG_SQL, {"project": project.pk, "start": start, "end": end})
        return [(day, int(n)) for day, n in cursor.fetchall()]


def trends(*, project: Project, dates: int = 30) -> Trends:
    """What the charts show: per shoot day, per drill date and per calendar date."""
    end = timezone.localdate()
    start = end - timedelta(days=dates - 1)
    drills = (
        RestoreDrill.objects.filter(
            project=project, state=RestoreDrill.State.PASSED, seconds__isnull=False, finished_at__isnull=False
        )
        .annotate(on=TruncDate("finished_at"))
        .values_list("on")
        .annotate(avg=Avg("seconds"))
        .order_by("on")
    )
    return Trends(
        days=project_days_figures(project=project),
        drills=[(on, float(avg)) for on, avg in drills][-dates:],
        backlog=review_backlog(project=project, start=start, end=end),
    )


def projects_overview(*, projects: Iterable[Project]) -> list[tuple[Project, dict[str, int]]]:
    """For the dashboard's front page: how many days of each project are in each light."""
    projects = list(projects)
    days = list(ShootDay.objects.filter(project__in=projects).select_related("project").order_by("number"))
    counts: dict[int, dict[str, int]] = {p.pk: {light.value: 0 for light in Light} for p in projects}
    for figures in days_figures(days=days):
        counts[figures.day.project_id][figures.light.value] += 1
    return [(project, counts[project.pk]) for project in projects]


def alert_counts_by_project(*, project_ids: Sequence[int]) -> dict[int, int]:
    rows = (
        Alert.objects.filter(project_id__in=project_ids)
        .filter(~Q(state=Alert.State.RESOLVED))
        .values_list("project_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def today() -> date:
    """Today in Reelvault's time zone (TIME_ZONE): the date a daily report is about."""
    return timezone.localdate()


def report_deliveries(*, report: DailyReport) -> QuerySet[Delivery]:
    """The outbox rows of a daily report's emails, one per subscriber it went (or goes) to."""
    return Delivery.objects.filter(kind=Delivery.Kind.REPORT, payload__report_id=report.pk)
