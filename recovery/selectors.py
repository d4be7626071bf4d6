"""Reads of incidents and runbook sections, and the recovery desk's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from catalog.models import AuditEvent, Project, ShootDay, Volume
from catalog.runbook import RunbookSectionText
from catalog.subjects import subject_of
from recovery.models import (
    Checklist,
    ChecklistRun,
    Incident,
    PracticeScenario,
    RunbookSection,
    RunbookVersion,
)


def incident_list(*, project: Project) -> QuerySet[Incident]:
    return Incident.objects.filter(project=project).select_related("opened_by", "alert")


def runbook_versions(*, project: Project, tier: str) -> QuerySet[RunbookVersion]:
    return RunbookVersion.objects.filter(section__project=project, section__tier=tier).select_related(
        "changed_by", "incident"
    )


def runbook_sections(project: Project) -> Mapping[str, RunbookSectionText]:
    """The latest version of each tier's section (installed as catalog.runbook's provider)."""
    result = {}
    for section in RunbookSection.objects.filter(project=project, version__gt=0):
        latest = section.versions.select_related("changed_by", "incident").first()
        if latest is None:
            continue
        result[section.tier] = RunbookSectionText(
            tier=section.tier,
            who=latest.who,
            steps=latest.steps.splitlines(),
            notes=latest.notes,
            version=latest.version,
            changed_at=latest.changed_at,
            changed_by=latest.changed_by.get_username() if latest.changed_by else "Reelvault",
            source=f"incident {latest.incident.pk}: {latest.incident.title}" if latest.incident else "",
            source_link=f"/incidents/{latest.incident.pk}/" if latest.incident else "",
            history_link=f"/p/{project.code}/runbook/{section.tier}/history/",
        )
    return result


def checklists_for(*, project: Project) -> QuerySet[Checklist]:
    return Checklist.objects.filter(project=project).prefetch_related("items")


def checklist_runs(*, checklist: Checklist) -> QuerySet[ChecklistRun]:
    return checklist.runs.select_related("completed_by", "day")


def checklist_blockers(*, day: ShootDay) -> list[str]:
    """Why a day's sign-off waits on checklists: each required one not completed for the day."""
    missing = Checklist.objects.filter(project_id=day.project_id, required_for_signoff=True).exclude(
        runs__day=day
    )
    return [
        f"the {c.name!r} checklist of day {day.number} is not completed" for c in missing.order_by("name")
    ]


@dataclass(frozen=True)
class IncidentCounts:
    per_month: list[tuple[str, int]]  # ("2026-11", n), oldest first
    per_cause: list[tuple[str, int]]  # (cause label, n), most first


def incident_counts(*, project: Project, months: int = 12) -> IncidentCounts:
    """How many incidents the project opened per calendar month (local time) and per cause (for trends)."""
    by_month = (
        Incident.objects.filter(project=project)
        .annotate(month=TruncMonth("opened_at"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    labels = dict(Incident.Cause.choices)
    by_cause = (
        Incident.objects.filter(project=project)
        .values("cause")
        .annotate(n=Count("id"))
        .order_by("-n", "cause")
    )
    return IncidentCounts(
        per_month=[(f"{row['month']:%Y-%m}", int(row["n"])) for row in by_month][-months:],
        per_cause=[(str(labels.get(row["cause"], row["cause"])), int(row["n"])) for row in by_cause],
    )


def practice_people(scenario: PracticeScenario, *, until: datetime | None = None) -> list[str]:
    """Who acted on the scenario since its break (until ``until``), from the audit log, in order.

    The people whose audited actions since the break concern the scenario's volume
    (for a failed drive, also the other volumes of its tier, where replacements go):
    the volume itself, an entry naming it, or a restore, handoff or audit of it
    (``catalog.subjects``). Practice breaks and resets do not count.
    """
    volumes = {scenario.volume_id: scenario.volume.label}
    if scenario.kind == PracticeScenario.Kind.FAILED_DRIVE:
        others = Volume.objects.filter(project_id=scenario.project_id, tier=scenario.volume.tier)
        volumes.update(dict(others.values_list("pk", "label")))
    entries = AuditEvent.objects.filter(
        project_id=scenario.project_id, at__gte=scenario.broken_at, actor__isnull=False
    ).exclude(action__startswith="practice.")
    if until is not None:
        entries = entries.filter(at__lte=until)
    names: list[str] = []
    for entry in entries.order_by("pk")[:1000]:
        about = (
            (entry.object_type == "catalog.volume" and entry.object_id in {str(pk) for pk in volumes})
            or (isinstance(entry.after, dict) and entry.after.get("volume") in volumes.values())
            or bool((subject := subject_of(entry)) is not None and subject.volume_ids & set(volumes))
        )
        if about and entry.actor_name not in names:
            names.append(entry.actor_name)
    return names


def _duration(seconds: float) -> str:
    """Seconds as a person reads them: "42 s", "4 min 05 s", "2 h 10 min", "3 days 4 h"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days {hours % 24} h"


@dataclass(frozen=True)
class PracticeRow:
    scenario: PracticeScenario
    state: str  # "broken", "being fixed", "fixed"
    took: str  # "4 min 05 s" once fixed, else ""
    people: str  # who fixed it, or who is on it; "" when nobody yet


def practice_rows(*, scenarios: list[PracticeScenario]) -> list[PracticeRow]:
    """Each practice scenario's state for its page: broken, being fixed (somebody acted on it), fixed."""
    rows = []
    for scenario in scenarios:
        if scenario.recovered_at is not None:
            took = _duration(scenario.seconds_to_recover or 0)
            rows.append(PracticeRow(scenario, "fixed", took, scenario.recovered_by))
            continue
        people = practice_people(scenario)
        rows.append(PracticeRow(scenario, "being fixed" if people else "broken", "", ", ".join(people)))
    return rows
