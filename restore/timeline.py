"""Restore audit entries as timeline lines (installed into ``catalog.subjects`` at startup).

A restore concerns the volumes that hold a copy of its files (the one that
failed as well as the one it reads), the shoot days and clips of those files.
Drills are rehearsals, not what happened: they never go on a timeline.
"""

from __future__ import annotations

from catalog.models import AuditEvent, Copy
from catalog.subjects import Subject
from formats.units import format_bytes
from restore.models import RestoreRequest

ACTIONS = ("restore.request", "restore.finish")


def describe(event: AuditEvent) -> Subject | None:
    restore = (
        RestoreRequest.objects.select_related("target", "requester")
        .filter(pk=event.object_id if event.object_id.isdigit() else 0)
        .first()
    )
    if restore is None or restore.is_drill:
        return None
    files = restore.items.values("media_file_id")
    files_word = "file" if restore.file_count == 1 else "files"
    what = f"{restore.file_count} {files_word} ({format_bytes(restore.size_bytes)})"
    if event.action == "restore.request":
        who = restore.requester.get_username() if restore.requester else "Reelvault"
        text = f"Restore {restore.pk} requested by {who}: {what} to {restore.target.name}"
    else:
        after = event.after or {}
        if after.get("state") == RestoreRequest.State.VERIFIED:
            text = f"Restore {restore.pk} verified: {what} at {restore.target.name}"
        else:
            failed = len(after.get("failed") or [])
            text = f"Restore {restore.pk} failed ({failed} file{'s' if failed != 1 else ''} not restored)"
    clips = restore.items.exclude(media_file__clip=None)
    return Subject(
        kind="restore",
        text=text,
        link=f"/restores/{restore.pk}/",
        volume_ids=frozenset(Copy.objects.filter(media_file__in=files).values_list("volume_id", flat=True)),
        day_ids=frozenset(
            d for d in clips.values_list("media_file__clip__day_id", flat=True).distinct() if d is not None
        ),
        clip_ids=frozenset(c for c in clips.values_list("media_file__clip_id", flat=True).distinct() if c),
    )
