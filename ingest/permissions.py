"""Access gates for ingest objects (same rules as catalog/permissions.py: 404 outside, 403 too weak)."""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from ingest.models import OffloadJob


def access_offload(user: AnyUser, job_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> OffloadJob:
    """The offload job; with ``refusal`` (the write attempted), a member's 403 is audited."""
    job = OffloadJob.objects.select_related("project", "card", "created_by").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such offload.")
    gate(user, job.project, need, refusal=refusal, obj=job)
    return job
