"""Access gates for fixity, through catalog's one gate.

Every member of a project sees its audits; starting an audit, accepting a
moved copy and asking for a repair need "offload, manage volumes and drives"
(``Cap.INGEST``: DITs and admins).
"""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from fixity.models import FixityRun

AUDIT = Cap.INGEST


def access_fixity_run(user: AnyUser, run_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> FixityRun:
    run = FixityRun.objects.select_related("volume", "project", "requested_by").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such audit.")
    gate(user, run.project, need, refusal=refusal, obj=run)
    return run
