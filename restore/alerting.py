"""The alerts restores raise or resolve, built here and sent through the generic alerts API.

Restore's services call the ``*_after_commit`` functions inside their
transactions. They run the builders from ``transaction.on_commit(...,
robust=True)``: an alert is only about a change that committed, and a fault in
alert code is logged instead of rolling back a drill's result. (A copy a
restore finds corrupt or missing is recorded by ``catalog.copies``, which
announces it after the commit; the alerts app raises that alert.)

- ``drill_finished``: a failed restore drill raises one alert per project and
  tier; a drill of that tier that passes resolves it.

The builders take ids and reload the committed rows.
"""

from __future__ import annotations

from django.db import transaction

from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from restore.models import DrillSchedule, RestoreDrill


def drill_finished_after_commit(*, drill_id: int) -> None:
    """Once the caller's transaction commits, raise or resolve the alert of a finished drill."""
    transaction.on_commit(lambda: drill_finished(drill_id=drill_id), robust=True)


def drill_finished(*, drill_id: int) -> None:
    """A failed drill raises an alert for its project and tier; a passed one resolves it."""
    drill = RestoreDrill.objects.select_related("project", "request").filter(pk=drill_id).first()
    if drill is None:
        return
    project = drill.project
    scenario = drill.scenario != RestoreDrill.Scenario.SAMPLE
    what = drill.get_scenario_display() if scenario else f"{drill.tier} tier"
    key = f"restore.drill_failed:project:{project.pk}:" + (
        f"scenario:{drill.scenario}" if scenario else f"tier:{drill.tier}"
    )
    slow_key = f"restore.drill_over_time:project:{project.pk}:scenario:{drill.scenario}"
    if drill.state == RestoreDrill.State.PASSED:
        alert_resolve_key(key=key, resolution=f"drill {drill.pk} ({what}) passed")
        if drill.over_time:
            alert_raise(
                project=project,
                key=slow_key,
                kind="restore.drill_over_time",
                severity=Severity.WARNING,
                title=f"{project.code}: restore drill {drill.pk} ({what}) took longer than the runbook says",
                body=(
                    f"Restoring took {drill.request.seconds if drill.request else 0:.0f} s; the runbook "
                    f"expects {drill.expected_seconds or 0:.0f} s for these bytes. Update the runbook's "
                    "expected time or find what slowed it down."
                ),
                link=f"/p/{project.code}/drills/",
                details={"scenario": drill.scenario, "drill": drill.pk},
            )
        elif scenario:
            alert_resolve_key(key=slow_key, resolution=f"drill {drill.pk} ({what}) was on time")
    elif drill.state == RestoreDrill.State.FAILED:
        alert_raise(
            project=project,
            key=key,
            kind="restore.drill_failed",
            severity=Severity.CRITICAL,
            title=f"{project.code}: restore drill {drill.pk} ({what}) FAILED",
            body=drill.error or "The drill did not verify.",
            link=f"/p/{project.code}/drills/",
            items=[
                f"drill {drill.pk}: {line}" for line in (drill.error or "did not verify").splitlines()[:5]
            ],
            details={"tier": drill.tier, "scenario": drill.scenario, "drill": drill.pk},
        )


def _schedule_key(schedule_id: int) -> str:
    return f"restore.drill_not_started:schedule:{schedule_id}"


def drill_not_started(*, schedule_id: int, reason: str) -> None:
    """A due scheduled drill could not start: a warning naming the schedule and the remedy."""
    schedule = DrillSchedule.objects.select_related("project").filter(pk=schedule_id).first()
    if schedule is None:
        return
    project = schedule.project
    what = schedule.get_scenario_display() + (
        f", {schedule.tier or schedule.site}" if schedule.tier or schedule.site else ""
    )
    alert_raise(
        project=project,
        key=_schedule_key(schedule.pk),
        kind="restore.drill_not_started",
        severity=Severity.WARNING,
        title=f"{project.code}: the scheduled drill ({what}) could not start",
        body=f"{reason}. Fix that, or change the schedule on the drills page.",
        link=f"/p/{project.code}/drills/",
        details={"scenario": schedule.scenario, "schedule": schedule.pk},
    )


def drill_started(*, schedule_id: int, drill_id: int) -> None:
    """A scheduled drill started again: the 'could not start' alert of its schedule resolves."""
    alert_resolve_key(key=_schedule_key(schedule_id), resolution=f"drill {drill_id} started")
