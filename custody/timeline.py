"""Custody audit entries as timeline lines (installed into ``catalog.subjects`` at startup).

A handoff concerns its volume; a receipt with a seal mismatch also the alert it raised.
"""

from __future__ import annotations

from catalog.models import AuditEvent
from catalog.subjects import Subject
from custody.models import Handoff

ACTIONS = ("custody.handoff", "custody.receive")


def describe(event: AuditEvent) -> Subject | None:
    handoff = (
        Handoff.objects.select_related("volume")
        .filter(pk=event.object_id if event.object_id.isdigit() else 0)
        .first()
    )
    if handoff is None:
        return None
    label = handoff.volume.label
    if event.action == "custody.handoff":
        seals = ", ".join(handoff.seals_applied)
        text = f"{label} handed from {handoff.from_name} to {handoff.to_name}" + (
            f", seals {seals}" if seals else ""
        )
    else:
        after = event.after or {}
        seals = "seals do NOT match" if after.get("seal_mismatch") else "seals match"
        text = f"{label} received from {handoff.from_name}, {seals}"
    return Subject(
        kind="custody",
        text=text,
        link=f"/volumes/{handoff.volume_id}/",
        volume_ids=frozenset({handoff.volume_id}),
        alert_keys=frozenset({f"custody.seal:handoff:{handoff.pk}"}),
    )
