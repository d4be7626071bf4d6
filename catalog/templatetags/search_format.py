"""Small formatting filters for the search pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def thousands(value: int | None) -> str:
    """12345 -> "12,345" (the pages are in English whatever the server locale)."""
    return "" if value is None else f"{value:,}"
