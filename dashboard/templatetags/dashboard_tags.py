"""Template helpers of the producer's view.

Sizes and shares as producers read them. The sign-off badge and marks are
catalog's (``catalog/templatetags/signoff.py``).
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def terabytes(value: int | float | None) -> str:
    """Bytes as TB with two decimals (what producers count in)."""
    return f"{(value or 0) / 1e12:.2f} TB"


@register.filter
def percent(done: int | float | None, total: int | float | None) -> int:
    return int(100 * (done or 0) / total) if total else 0
