"""``{% load history %}``: an audit entry as a person reads it, "scene: 12 → 12A", never the stored dicts.

``{{ event|action_words }}`` names what happened ("edited", "metadata read from the files");
``{{ event|changes }}`` lists one :class:`Change` per field: its label (the model field's
verbose name where the key is a clip field, else the key in words), the value before and
after in words (lists joined, yes/no, sizes, local times rather than ISO timestamps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from catalog.models import AuditEvent, Clip

register = template.Library()

#: Actions whose words are not simply the action's last part.
ACTION_WORDS = {
    "clip.edit": "edited",
    "clip.update": "edited",
    "clip.bulk_edit": "edited with others",
    "clip.extract": "metadata read from the files",
    "clip.extract_requested": "asked to read the metadata again",
    "clip.ale_import": "updated from an ALE",
    "clip.export": "exported",
}
#: Keys of the stored entries that are bookkeeping, not something a person changed.
_HIDDEN = frozenset({"review"})
_LABELS = {
    "problems": "problems found",
    "thumbnail": "poster frame",
    "extra.cdl": "CDL",
    "cdl": "CDL",
    "asc_sop": "slope / offset / power",
    "asc_sat": "saturation",
}
MAX_TEXT = 200


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the entry names no earlier value
    after: str


def _label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    try:
        field = Clip._meta.get_field(key)
    except FieldDoesNotExist:
        return key.removeprefix("extra.").replace("_", " ").replace(".", " ")
    return str(getattr(field, "verbose_name", key))


def _local_time(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return str(date_filter(timezone.localtime(moment), "j M Y, H:i T"))


def words(value: object) -> str:
    """A stored value in words: "—" for nothing, yes/no, lists joined, mappings as "key: value"."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(words(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{_label(str(k))}: {words(v)}" for k, v in value.items() if v not in (None, ""))
    text = str(value)
    if len(text) >= 19 and text[4:5] == "-" and "T" in text:
        text = _local_time(text) or text
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@register.filter
def action_words(event: AuditEvent) -> str:
    return ACTION_WORDS.get(event.action, event.action.rpartition(".")[2].replace("_", " "))


@register.filter
def changes(event: AuditEvent) -> list[Change]:
    before = event.before if isinstance(event.before, Mapping) else {}
    after = event.after if isinstance(event.after, Mapping) else {}
    found = []
    for key in [*after, *(k for k in before if k not in after)]:
        if key in _HIDDEN:
            continue
        old, new = words(before.get(key)) if key in before else None, words(after.get(key))
        if old == new:
            continue
        found.append(Change(label=_label(str(key)), before=old, after=new))
    return found
