"""Access gates for custody objects, through catalog's one gate.

Every member of a project sees its registry, board, health and timelines;
registering, editing and handing over need "offload, manage volumes and
drives" (``Cap.INGEST``: DITs and admins). The person a volume is handed to
may confirm its receipt whatever their role: they hold it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from catalog.models import Volume
from catalog.permissions import AnyUser, Cap, access_volume, gate, role_of, user_can
from custody.models import Handoff

MANAGE = Cap.INGEST


def access_custody_volume(
    user: AnyUser, volume_id: int, *, need: Cap = Cap.VIEW, refusal: str = ""
) -> Volume:
    """The volume, with its custody record loaded (None-safe through ``getattr(v, 'custody', None)``)."""
    return access_volume(user, volume_id, need=need, refusal=refusal)


def access_handoff(user: AnyUser, handoff_id: int, *, need: Cap = Cap.VIEW) -> Handoff:
    handoff = (
        Handoff.objects.select_related("volume", "project", "from_user", "to_user", "received_by")
        .filter(pk=handoff_id)
        .first()
    )
    if handoff is None:
        raise Http404("No such handoff.")
    gate(user, handoff.project_id, need)
    return handoff


def can_receive(user: AnyUser, handoff: Handoff) -> bool:
    """Managers of the project, and the named receiver (a member), may confirm receipt."""
    if role_of(user, handoff.project_id) is None:
        return False
    return user_can(user, handoff.project_id, MANAGE) or (
        handoff.to_user_id is not None and handoff.to_user_id == user.pk
    )


def access_handoff_receive(user: AnyUser, handoff_id: int) -> Handoff:
    handoff = access_handoff(user, handoff_id)
    if not can_receive(user, handoff):
        raise PermissionDenied("Only the receiver, a DIT or an admin of the project confirms receipt.")
    return handoff
