"""Editing clip metadata by hand: one clip or a selection, every change audited with before/after.

``clip_changes_apply`` is the one place that writes hand edits to a clip; it runs
inside the caller's transaction so that ALE imports, review-queue fixes and bulk
edits all record the same audit entries. ``clip_bulk_update`` is the top-level
service (its own durable transaction) for one clip or many.

This module does not know about the review queue (``metadata/review.py``, which
builds on it); callers that keep the queue in step pass ``after_apply``, which runs
in the same transaction with the ids of the clips that changed. Pages and API
(``/clips/<id>/edit/``, ``PATCH /api/clips/<id>/``, ``/api/clip-edits/``) all edit
through ``metadata.review.clip_metadata_bulk_edit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.audit import audit_record, model_snapshot
from catalog.models import Clip, Project
from catalog.permissions import AnyUser
from formats.timecode import Timecode, TimecodeError

AfterApply = Callable[[Sequence[int]], object]

#: Fields of a clip a user may edit by hand (the rest comes from ingest and extraction).
EDITABLE_CLIP_FIELDS = (
    "scene",
    "take",
    "circled",
    "cast",
    "location",
    "lens",
    "camera",
    "reel",
    "notes",
    "start_tc",
    # Camera settings (catalog migration 0013), read from sidecars and corrected by hand.
    "iso",
    "white_balance_k",
    "shutter",
    "iris",
    "focal_length_mm",
    "sensor_fps",
    "look",
)

#: Whole numbers and decimals of the camera settings: (smallest, largest) accepted.
_CAMERA_INTEGERS = {"iso": (1, 1_000_000), "white_balance_k": (1000, 20000)}
_CAMERA_DECIMALS = {
    "focal_length_mm": (Decimal("0.1"), Decimal("9999.9")),
    "sensor_fps": (Decimal("0.001"), Decimal("9999")),
}
_CAMERA_PLACES = {"focal_length_mm": 1, "sensor_fps": 3}
_CAMERA_UNITS = {"iso": "", "white_balance_k": "K", "focal_length_mm": "mm", "sensor_fps": "fps"}
#: "180°", "172.8", "1/48", "1/50s".
_SHUTTER = re.compile(r"^(?:(?P<angle>\d{1,3}(?:\.\d+)?)\s*°?|1/(?P<speed>\d+(?:\.\d+)?)\s*s?)$")
#: "T2.3", "F5.6", "f/2.8".
_IRIS = re.compile(r"^(?:[TtFf]\s*/?\s*)?\d{1,2}(?:\.\d{1,2})?$")

#: A bulk edit larger than this is refused: an editor selects a few dozen clips,
#: not a whole project, and one transaction holds a row lock on each.
BULK_LIMIT = 2000


@dataclass
class BulkResult:
    """What a bulk edit did: ``changed`` clip ids (audited), ``unchanged`` ones (already so)."""

    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)


def _clean_value(name: str, value: Any) -> Any:
    if name == "circled":
        if not isinstance(value, bool):
            raise ValidationError({name: "must be true or false"})
        return value
    if name == "cast":
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError({name: "must be a list of names"})
        return [v.strip() for v in value if v.strip()]
    if name in _CAMERA_INTEGERS or name in _CAMERA_DECIMALS:
        return _clean_number(name, value)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({name: "must be text"})
    return value.strip()


def _check_camera_setting(name: str, value: Any) -> None:
    """Refuse a changed camera setting a camera cannot have (checked only when it changes).

    Values read from sidecars are kept as the camera wrote them, whatever their form.
    """
    if value is None or value == "":
        return
    if name == "shutter":
        match = _SHUTTER.match(value)
        if match is None or (match["angle"] is not None and not 0 < float(match["angle"]) <= 360):
            raise ValidationError(
                {name: f"{value!r} is not a shutter: write an angle (172.8°) or a speed (1/48)"}
            )
    elif name == "iris" and not _IRIS.match(value):
        raise ValidationError({name: f"{value!r} is not an aperture: write T2.3 or F5.6"})
    elif name in _CAMERA_INTEGERS:
        low, high = _CAMERA_INTEGERS[name]
        unit = _CAMERA_UNITS[name]
        if not low <= value <= high:
            raise ValidationError(
                {name: f"must be a whole number from {low} to {high}{' ' + unit if unit else ''}"}
            )
    elif name in _CAMERA_DECIMALS:
        low_d, high_d = _CAMERA_DECIMALS[name]
        if not low_d <= value <= high_d:
            raise ValidationError({name: f"must be a number from {low_d} to {high_d} {_CAMERA_UNITS[name]}"})


def _clean_number(name: str, value: Any) -> int | Decimal | None:
    """A camera setting's number from JSON or a form: None or "" clears it; a unit after it is allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError({name: "must be a number"})
    text = str(value).strip()
    unit = _CAMERA_UNITS[name]
    if unit and text.lower().endswith(unit.lower()):
        text = text[: -len(unit)].strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({name: f"{value!r} is not a number"}) from None
    if not number.is_finite():
        raise ValidationError({name: f"{value!r} is not a number"})
    if name in _CAMERA_INTEGERS:
        if number != number.to_integral_value():
            raise ValidationError({name: "must be a whole number"})
        return int(number)
    places = _CAMERA_PLACES[name]
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= places:
        number = number.quantize(Decimal(1).scaleb(-places))  # as stored: 35 -> 35.0
    return number


def _check_start_tc(clip: Clip) -> None:
    if not clip.start_tc:
        return
    try:
        # Without a known rate, check the form at the highest rate timecode counts.
        Timecode.parse(clip.start_tc, str(clip.fps) if clip.fps is not None else "60")
    except TimecodeError as exc:
        raise ValidationError({"start_tc": str(exc)}) from None


def clip_changes_apply(
    *,
    actor: AnyUser | None,
    clip: Clip,
    changes: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    action: str = "clip.update",
) -> list[str]:
    """Apply hand edits to one clip inside the caller's transaction; return the fields that changed.

    ``changes`` may only hold :data:`EDITABLE_CLIP_FIELDS`;
    ``extra`` sets top-level keys of ``Clip.extra`` (e.g. ``{"cdl": {...}}``), audited
    as ``extra.<key>``. Values are normalised (text stripped, cast split on commas)
    and the clip is ``full_clean``-ed; a start timecode must parse at the clip's rate.
    Nothing is written, and no audit entry made, when nothing differs.

    Raises:
        ValueError: for a field that is not editable.
        ValidationError: for a value the clip cannot hold.
    """
    unknown = set(changes) - set(EDITABLE_CLIP_FIELDS)
    if unknown:
        raise ValueError(f"these clip fields cannot be edited: {', '.join(sorted(unknown))}")
    locked = Clip.objects.select_for_update(of=("self",)).select_related("project").get(pk=clip.pk)
    cleaned = {name: _clean_value(name, value) for name, value in changes.items()}
    changed = [name for name, value in cleaned.items() if getattr(locked, name) != value]
    for name in changed:
        _check_camera_setting(name, cleaned[name])
    extra_changed = [key for key, value in (extra or {}).items() if locked.extra.get(key) != value]
    if not changed and not extra_changed:
        return []
    before = model_snapshot(locked, changed) if changed else {}
    before.update({f"extra.{key}": locked.extra.get(key) for key in extra_changed})
    for name in changed:
        setattr(locked, name, cleaned[name])
    if extra_changed:
        locked.extra = {**locked.extra, **{key: (extra or {})[key] for key in extra_changed}}
    locked.full_clean()
    _check_start_tc(locked)
    locked.save()
    after = model_snapshot(locked, changed) if changed else {}
    after.update({f"extra.{key}": locked.extra.get(key) for key in extra_changed})
    audit_record(actor=actor, action=action, obj=locked, project=locked.project, before=before, after=after)
    return changed + [f"extra.{key}" for key in extra_changed]


@transaction.atomic(durable=True)
def clip_bulk_update(
    *,
    actor: AnyUser | None,
    project: Project,
    clip_ids: Sequence[int],
    changes: Mapping[str, Any],
    after_apply: AfterApply | None = None,
) -> BulkResult:
    """Set the same values on every selected clip ("scene 42 on these twelve"), all or nothing.

    Every clip must belong to ``project``. Each clip that changes gets its own
    ``clip.update`` audit entry with before/after; clips that already hold the
    values are left untouched and reported as unchanged.

    Raises:
        ValueError: no clips, too many, clips of another project, or a field that is not editable.
        ValidationError: a value that does not fit (nothing is written then).
    """
    ids = list(dict.fromkeys(int(i) for i in clip_ids))
    if not ids:
        raise ValueError("select at least one clip")
    if len(ids) > BULK_LIMIT:
        raise ValueError(f"select at most {BULK_LIMIT} clips at a time")
    if not changes:
        raise ValueError("choose at least one field to set")
    clips = list(Clip.objects.filter(pk__in=ids, project=project).order_by("name"))
    missing = sorted(set(ids) - {c.pk for c in clips})
    if missing:
        raise ValueError(f"clips {', '.join(map(str, missing))} are not clips of project {project.code}")
    result = BulkResult()
    for clip in clips:
        if clip_changes_apply(actor=actor, clip=clip, changes=changes):
            result.changed.append(clip.pk)
        else:
            result.unchanged.append(clip.pk)
    if after_apply is not None and result.changed:
        after_apply(result.changed)
    return result
