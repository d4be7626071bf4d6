"""Fixity audit entries as timeline lines (installed into ``catalog.subjects`` at startup).

A finished audit concerns its volume (and the alerts of copies found corrupt
or missing there); a repair, the volume of the copy it re-made and the
copy's clip and shoot day.
"""

from __future__ import annotations

from catalog.models import AuditEvent, Copy
from catalog.subjects import Subject
from fixity.models import FixityRun

ACTIONS = ("fixity.finish", "fixity.repair")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def describe(event: AuditEvent) -> Subject | None:
    object_id = int(event.object_id) if event.object_id.isdigit() else 0
    if event.action == "fixity.finish":
        run = FixityRun.objects.select_related("volume").filter(pk=object_id).first()
        if run is None:
            return None
        after = event.after or {}
        found = [
            _plural(int(after.get(key) or 0), f"{key} copy", f"{key} copies")
            for key in ("corrupt", "missing")
            if after.get(key)
        ]
        text = (
            f"Fixity audit of {run.volume.label} {after.get('state', run.state)}: "
            f"{_plural(int(after.get('proven') or 0), 'copy', 'copies')} proven"
            + (", " + ", ".join(found) if found else "")
        )
        volume = run.volume_id
        return Subject(
            kind="fixity",
            text=text,
            link=f"/fixity-runs/{run.pk}/",
            volume_ids=frozenset({volume}),
            alert_keys=frozenset({f"copy.corrupt:volume:{volume}", f"copy.missing:volume:{volume}"}),
        )
    copy = Copy.objects.select_related("volume", "media_file__clip").filter(pk=object_id).first()
    if copy is None:
        return None
    clip = copy.media_file.clip
    after = event.after or {}
    return Subject(
        kind="fixity",
        text=f"Fixity repair re-made {copy.media_file.relative_path} on {copy.volume.label} "
        f"from {after.get('from', 'another copy')}",
        link=f"/fixity-runs/{after['fixity_run']}/" if after.get("fixity_run") else "",
        volume_ids=frozenset({copy.volume_id}),
        day_ids=frozenset({clip.day_id}) if clip is not None and clip.day_id else frozenset(),
        clip_ids=frozenset({clip.pk}) if clip is not None else frozenset(),
    )
