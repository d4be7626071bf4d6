"""Who sees and who writes incidents and runbook sections.

Every member of a project sees its incidents, runbook history and recovery
desk. Whoever may take an alert in hand (``Cap.ACKNOWLEDGE_ALERTS``: admins,
producers, DITs, IT support) opens incidents and writes on them; lessons that
edit the runbook, and runbook sections, need ``Cap.MANAGE_RECOVERY`` (admins
and producers). Another project's incident is "not found" (404).
"""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, RoleName, gate, refuse, role_of
from recovery.models import Checklist, Incident


def access_incident(user: AnyUser, incident_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> Incident:
    incident = Incident.objects.select_related("project", "alert", "opened_by").filter(pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident.")
    gate(user, incident.project, need, refusal=refusal, obj=incident)
    return incident


def access_checklist(user: AnyUser, checklist_id: int, *, complete: bool = False) -> Checklist:
    """The checklist if the user is a member; with ``complete``, also allowed to complete it.

    A checklist for one role is completed by that role (or an admin); one for
    any role by any member but a viewer. Others are refused (403, audited as
    ``checklist.complete_refused``).
    """
    checklist = Checklist.objects.select_related("project").filter(pk=checklist_id).first()
    if checklist is None:
        raise Http404("No such checklist.")
    gate(user, checklist.project, Cap.VIEW)
    if complete and not can_complete(user, checklist):
        refuse(
            actor=user,
            action="checklist.complete_refused",
            project=checklist.project,
            obj=checklist,
            reason=f"this checklist is for the {checklist.role or 'crew'} role",
        )
    return checklist


def can_complete(user: AnyUser, checklist: Checklist) -> bool:
    role = role_of(user, checklist.project)
    if role is None or role == RoleName.VIEWER:
        return False
    return role == RoleName.ADMIN or not checklist.role or role == checklist.role
