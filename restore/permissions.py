"""Access gates for restore objects (same rules as catalog/permissions.py).

An object of a project the user is not a member of is "not found" (404); a
visible object with a role too weak for the action is "forbidden" (403).
Seeing restore requests needs the right to request one: they name files,
targets and reasons that viewers have no business with.
"""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from restore.models import RestoreDrill, RestoreRequest, RestoreTarget


def access_restore(user: AnyUser, restore_id: int, *, need: Cap = Cap.REQUEST_RESTORE) -> RestoreRequest:
    restore = (
        RestoreRequest.objects.select_related("project", "target", "requester")
        .filter(pk=restore_id, is_drill=False)
        .first()
    )
    if restore is None:
        raise Http404("No such restore request.")
    gate(user, restore.project_id, need)
    return restore


def access_target(user: AnyUser, target_id: int, *, need: Cap = Cap.VIEW) -> RestoreTarget:
    target = RestoreTarget.objects.select_related("project").filter(pk=target_id).first()
    if target is None:
        raise Http404("No such restore target.")
    gate(user, target.project_id, need)
    return target


def access_drill(user: AnyUser, drill_id: int, *, need: Cap = Cap.VIEW) -> RestoreDrill:
    drill = RestoreDrill.objects.select_related("project", "request").filter(pk=drill_id).first()
    if drill is None:
        raise Http404("No such restore drill.")
    gate(user, drill.project_id, need)
    return drill
