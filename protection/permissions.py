"""Access gates for protection objects (same rules as catalog/permissions.py).

Every member sees the replication queue and the policy (they say whether the
footage is safe); starting and retrying replication and editing rules needs
``Cap.INGEST`` (DITs and admins, who manage volumes); the policy is the
project's promise and is edited by those who manage the project
(``Cap.MANAGE_MEMBERS``: admins), as in the Django admin.
"""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from protection.models import ReplicationJob

POLICY_EDIT = Cap.MANAGE_MEMBERS
REPLICATE = Cap.INGEST


def access_replication(
    user: AnyUser, job_id: int, *, need: Cap = Cap.VIEW, refusal: str = ""
) -> ReplicationJob:
    job = ReplicationJob.objects.select_related("project", "destination").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such replication job.")
    gate(user, job.project, need, refusal=refusal, obj=job)
    return job
