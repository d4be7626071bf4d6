"""WORM that means something: nothing deletes, renames or makes rewritable a copy on a WORM volume.

A volume marked WORM (``Volume.worm``) holds copies that must never change:
the storage policy counts a copy on a tier that must be WORM only there. The
catalog therefore refuses, with a message naming the volume and an entry in
the audit log (``catalog.permissions.refuse``: ``<action>_refused``):

- deleting a WORM volume that holds copies (Django admin), which would drop
  the copies' rows and with them the proof that they exist;
- making such a volume rewritable (``worm`` set to false: Django admin,
  custody's volume edit and ``PATCH /api/custody/volumes/<id>/``), the way
  around every other refusal;
- re-pointing a copy on it to another path (fixity's "accept a moved copy"):
  a file that moved on a WORM volume is an incident to look into, not a
  path to record.

Copies and files are never deleted nor renamed through the admin at all
(catalog/admin.py). Changing a WORM volume's mount location stays allowed:
it moves no file, and custody checks the drive's identity at the new mount.
Call these outside any transaction: a refusal commits its audit entry on its
own, never rolled back with what was refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.models import Copy, Volume
from catalog.permissions import AnyUser, refuse


def worm_copies(*, volume: Volume) -> int:
    """How many copies (of any state) the volume's catalog rows hold."""
    return Copy.objects.filter(volume=volume).count()


def _held(volume: Volume, count: int) -> str:
    return (
        f"{volume.label} is WORM (write once, read many) and holds {count} cop{'y' if count == 1 else 'ies'}"
    )


def worm_volume_change_refuse(
    *, actor: AnyUser | None, volume: Volume, action: str, changes: Mapping[str, Any] | None = None
) -> None:
    """Refuse (audited, 403) deleting a WORM volume with copies (``changes`` None) or making it rewritable.

    Does nothing when the volume is not WORM, holds no copy, or the changes
    leave it WORM.
    """
    stored = Volume.objects.filter(pk=volume.pk).values_list("worm", flat=True).first()
    if not stored:
        return
    deleting = changes is None
    if changes is not None and bool(changes.get("worm", True)):
        return
    count = worm_copies(volume=volume)
    if not count:
        return
    reason = (
        f"{_held(volume, count)}: it cannot be deleted from the catalog."
        if deleting
        else f"{_held(volume, count)}: it cannot be made rewritable."
    )
    refuse(actor=actor, action=f"{action}_refused", project=volume.project, reason=reason, obj=volume)


def worm_copy_move_refuse(*, actor: AnyUser | None, copy: Copy, action: str, new_path: str) -> None:
    """Refuse (audited, 403) recording a copy on a WORM volume at another path than it was written to."""
    volume = copy.volume
    if not volume.worm or new_path == copy.path:
        return
    refuse(
        actor=actor,
        action=f"{action}_refused",
        project=volume.project,
        reason=(
            f"{volume.label} is WORM (write once, read many): its copy {copy.path} cannot be renamed"
            f" or re-pointed to {new_path}. A file that moved on a WORM volume needs looking into."
        ),
        obj=copy,
        path=copy.path,
        to=new_path,
    )
