"""Reads of incidents and runbook sections, and the recovery desk's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from catalog.models import Project, ShootDay
from catalog.runbook import RunbookSectionText
from recovery.models import Checklist, ChecklistRun, Incident, RunbookSection, RunbookVersion


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
