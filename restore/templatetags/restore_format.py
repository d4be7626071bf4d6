"""``{% load restore_format %}``: ``{{ seconds|duration }}`` as an estimate a person reads ("about 4 min")."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """An estimate, rounded up to a unit that does not pretend precision: "under a minute",
    "about 4 min", "about 2 h 10 min", "about 3 days"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(math.ceil(minutes / 10) * 10, 60)
    if hours < 48:
        return f"about {hours} h" + (f" {minutes:02d} min" if minutes else "")
    return f"about {math.ceil(hours / 24)} days"


@register.filter
def mb_per_second(value: float | None) -> str:
    """A speed in decimal MB/s to three significant digits: "200 MB/s", "0.004 MB/s"."""
    return "—" if value is None else f"{value:.3g} MB/s"
