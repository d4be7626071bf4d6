"""The alerts an offload raises or resolves, built here and sent through the generic alerts API.

Ingest's services call the ``*_after_commit`` functions inside their
transactions. They run the builders from ``transaction.on_commit(...,
robust=True)``: an alert is only about a change that committed, and a fault in
alert code is logged instead of undoing the offload's record.

- ``offload_finished``: a failed or incomplete transfer raises one alert per
  card, however many files failed; a later complete offload of the card
  resolves it. The destinations' free space and the day's policy gap are
  checked again. (Copies found corrupt or missing are announced by
  ``catalog.copies``, which records them, and alerted by the alerts app.)

The builders run after the commit, so they read the committed rows (by id) again.
"""

from __future__ import annotations

from django.db import transaction

from alerts.checks import policy_gap_check, volume_space_check
from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from catalog.models import Copy
from ingest.models import OffloadJob


def offload_finished_after_commit(*, job_id: int) -> None:
    """Once the caller's transaction commits, raise or resolve the alerts of an ended offload."""
    transaction.on_commit(lambda: offload_finished(job_id=job_id), robust=True)


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
    for volume in job.destinations.select_related("project"):
        volume_space_check(volume=volume)
    if job.day is not None:
        policy_gap_check(days=[job.day])
