"""The alerts restores raise or resolve, built here and sent through the generic alerts API.

Restore's services call the ``*_after_commit`` functions inside their
transactions. They run the builders from ``transaction.on_commit(...,
robust=True)``: an alert is only about a change that committed, and a fault in
alert code is logged instead of rolling back a copy just marked corrupt or a
drill's result.

- ``copy_condemned``: a restore found a verified copy corrupt or missing
  (one alert per volume and problem, however many files);
- ``drill_finished``: a failed restore drill raises one alert per project and
  tier; a drill of that tier that passes resolves it.

The builders take ids and reload the committed rows.
"""

from __future__ import annotations

from django.db import transaction

from alerts.hooks import copy_problem
from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from catalog.models import Copy
from restore.models import RestoreDrill, RestoreRequest


def copy_condemned_after_commit(*, copy_id: int, restore_id: int) -> None:
    """Once the caller's transaction commits, alert about a copy a restore condemned."""
    transaction.on_commit(lambda: copy_condemned(copy_id=copy_id, restore_id=restore_id), robust=True)


def drill_finished_after_commit(*, drill_id: int) -> None:
    """Once the caller's transaction commits, raise or resolve the alert of a finished drill."""
    transaction.on_commit(lambda: drill_finished(drill_id=drill_id), robust=True)


def copy_condemned(*, copy_id: int, restore_id: int) -> None:
    """A restore found a verified copy corrupt or missing (the copy is already marked)."""
    copy = Copy.objects.select_related("volume__project", "media_file").filter(pk=copy_id).first()
    restore = RestoreRequest.objects.filter(pk=restore_id).first()
    if copy is None or restore is None or copy.state not in (Copy.State.CORRUPT, Copy.State.MISSING):
        return
    project, volume = copy.volume.project, copy.volume
    copy_problem(
        project=project,
        volume=volume,
        state=copy.state,
        paths=[copy.media_file.relative_path],
        body=(
            f"Restore {restore.pk} found the copy of {copy.media_file.relative_path} on {volume.label} "
            f"({volume.location}/{copy.path}) {copy.state}: {copy.last_error}\n"
            "The restore went on from another copy. Make a new copy to restore the protection level."
        ),
        link=f"/restores/{restore.pk}/" if not restore.is_drill else f"/p/{project.code}/drills/",
    )


def drill_finished(*, drill_id: int) -> None:
    """A failed drill raises an alert for its project and tier; a passed one resolves it."""
    drill = RestoreDrill.objects.select_related("project").filter(pk=drill_id).first()
    if drill is None:
        return
    project = drill.project
    key = f"restore.drill_failed:project:{project.pk}:tier:{drill.tier}"
    if drill.state == RestoreDrill.State.PASSED:
        alert_resolve_key(key=key, resolution=f"drill {drill.pk} of the {drill.tier} tier passed")
    elif drill.state == RestoreDrill.State.FAILED:
        alert_raise(
            project=project,
            key=key,
            kind="restore.drill_failed",
            severity=Severity.CRITICAL,
            title=f"{project.code}: restore drill {drill.pk} ({drill.tier} tier) FAILED",
            body=drill.error or "The drill did not verify.",
            link=f"/p/{project.code}/drills/",
            items=[
                f"drill {drill.pk}: {line}" for line in (drill.error or "did not verify").splitlines()[:5]
            ],
            details={"tier": drill.tier, "drill": drill.pk},
        )
