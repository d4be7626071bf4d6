"""Template helpers of the producer's view.

``{% signoff_badge clip.day %}`` renders ``dashboard/_signoff_badge.html`` for
one day (one query). For lists, compute ``selectors.signed_off_day_ids`` once
in the view and include the template with ``signed_off=…`` instead.
"""

from __future__ import annotations

from typing import Any

from django import template

from catalog.models import ShootDay
from dashboard.selectors import day_signed_off

register = template.Library()


@register.inclusion_tag("dashboard/_signoff_badge.html")
def signoff_badge(day: ShootDay | None) -> dict[str, Any]:
    return {"signed_off": day_signed_off(day=day), "signoff_day": day}


@register.filter
def terabytes(value: int | float | None) -> str:
    """Bytes as TB with two decimals (what producers count in)."""
    return f"{(value or 0) / 1e12:.2f} TB"


@register.filter
def percent(done: int | float | None, total: int | float | None) -> int:
    return int(100 * (done or 0) / total) if total else 0
