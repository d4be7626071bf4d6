"""Who sees and who writes incidents and runbook sections.

Every member of a project sees its incidents, runbook history and recovery
desk. Whoever may take an alert in hand (``Cap.ACKNOWLEDGE_ALERTS``: admins,
producers, DITs, IT support) opens incidents and writes on them; lessons that
edit the runbook, and runbook sections, need ``Cap.MANAGE_RECOVERY`` (admins
and producers). Another project's incident is "not found" (404).
"""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from recovery.models import Incident


def access_incident(user: AnyUser, incident_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> Incident:
    incident = Incident.objects.select_related("project", "alert", "opened_by").filter(pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident.")
    gate(user, incident.project, need, refusal=refusal, obj=incident)
    return incident
