"""``{% load offload_tags %}``: durations and offload phases in words."""

from __future__ import annotations

from django import template

register = template.Library()

PHASES = {
    "copying": "Copying",
    "verifying": "Verifying",
    "mhl": "Writing ASC MHL",
    "paused": "Paused",
    "done": "Done",
}


@register.filter
def duration(seconds: float | None) -> str:
    """0.2 -> "under a second"; 12 -> "12 s"; 150 -> "2 min 30 s"; 7300 -> "2 h 2 min"; "" for None."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "under a second"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def phase(value: str) -> str:
    return PHASES.get(value, value.capitalize())


@register.filter
def percent_of(part: int | float | None, whole: int | float | None) -> int:
    if not part or not whole:
        return 0
    return max(0, min(100, int(100 * part / whole)))
