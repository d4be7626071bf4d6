"""The events that raise alerts, as one call each for the apps where they happen.

- ``offload_finished``: ingest calls it once an offload ended (from
  ``transaction.on_commit``, so a fault here never undoes the offload's
  record). A failed or incomplete transfer raises one alert per card, however
  many files failed; a later complete offload of the card resolves it. Copies
  the offload found corrupt raise one alert per volume; the destinations' free
  space and the day's policy gap are checked again.
- ``copy_condemned``: a restore found a verified copy corrupt or missing.
- ``drill_finished``: a failed restore drill raises one alert per project and
  tier; a drill of that tier that passes resolves it.

Hooks take ids and reload what they need.
"""

from __future__ import annotations

from collections import defaultdict

from alerts.checks import policy_gap_check, volume_space_check
from alerts.models import Severity
from alerts.services import Raised, alert_raise, alert_resolve_key
from catalog.models import Copy, Project, Volume
from ingest.models import OffloadJob
from restore.models import RestoreDrill, RestoreRequest


def copy_problem(
    *, project: Project, volume: Volume, state: str, paths: list[str], body: str, link: str
) -> Raised:
    """One alert per volume and kind of problem (corrupt, missing), listing the files concerned."""
    return alert_raise(
        project=project,
        key=f"copy.{state}:volume:{volume.pk}",
        kind=f"copy.{state}",
        severity=Severity.CRITICAL,
        title=f"{project.code}: {state} copies on {volume.label}",
        body=body,
        link=link,
        items=paths,
        details={"volume": volume.label},
    )


def offload_finished(*, job_id: int) -> None:
    """Raise or resolve the alerts an ended offload job calls for (see the module docstring)."""
    job = OffloadJob.objects.select_related("project", "card", "day__project").filter(pk=job_id).first()
    if job is None:
        return
    project, key = job.project, f"transfer:card:{job.card_id}"
    if job.state == OffloadJob.State.COMPLETED:
        alert_resolve_key(key=key, resolution=f"card {job.label} offloaded and verified by offload {job.pk}")
    elif job.state in (OffloadJob.State.FAILED, OffloadJob.State.INCOMPLETE):
        failed = job.state == OffloadJob.State.FAILED
        reasons = [str(reason) for reason in job.summary.get("not_safe_reasons", [])]
        bad_copies = Copy.objects.filter(
            media_file__card_id=job.card_id,
            volume__in=job.destinations.all(),
            state__in=[Copy.State.FAILED, Copy.State.CORRUPT],
        ).count()
        count = bad_copies or int(job.summary.get("not_safe_reason_count", len(reasons))) or 1
        alert_raise(
            project=project,
            key=key,
            kind="transfer.failed" if failed else "transfer.incomplete",
            severity=Severity.CRITICAL,
            title=(
                f"{project.code}: offload of card {job.label} failed"
                if failed
                else f"{project.code}: offload of card {job.label} is incomplete"
            ),
            body=(
                (f"The offload stopped: {job.error}" if failed else f"{count} file copies were not verified.")
                + f"\nCard {job.label} is NOT safe to format. Fix the cause and run the offload again."
            ),
            link=f"/offloads/{job.pk}/",
            items=reasons or [job.error or "no reason recorded"],
            item_count=count,
            details={"card": job.label, "job": job.pk, "state": job.state},
        )
    _corrupt_copies(job)
    for volume in job.destinations.select_related("project"):
        volume_space_check(volume=volume)
    if job.day is not None:
        policy_gap_check(days=[job.day])


def _corrupt_copies(job: OffloadJob) -> None:
    """Copies this run found changed since they were verified (the engine marks them corrupt)."""
    since = job.started_at or job.created_at
    found: dict[Volume, list[str]] = defaultdict(list)
    for copy in Copy.objects.filter(
        media_file__card_id=job.card_id,
        volume__in=job.destinations.all(),
        state=Copy.State.CORRUPT,
        updated_at__gte=since,
    ).select_related("volume", "media_file"):
        found[copy.volume].append(f"{job.label}/{copy.media_file.relative_path}")
    for volume, paths in found.items():
        copy_problem(
            project=job.project,
            volume=volume,
            state=Copy.State.CORRUPT,
            paths=paths,
            body=(
                f"Offload {job.pk} of card {job.label} found {len(paths)} verified copies on {volume.label} "
                f"({volume.location}) changed since they were proven good. Make new copies to restore the "
                "protection level, and check the drive."
            ),
            link=f"/offloads/{job.pk}/",
        )


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
