"""``{% load fixity_units %}``: durations ("2 h 05 min"), speeds ("412.3 MB/s") and percentages."""

from __future__ import annotations

from django import template

from formats.units import format_bytes

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days {hours % 24} h"


@register.filter
def speed(bytes_per_second: float | None) -> str:
    return f"{format_bytes(bytes_per_second)}/s" if bytes_per_second else "—"


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} %" if value >= 99.5 or value < 0.5 else f"{value:.1f} %"
