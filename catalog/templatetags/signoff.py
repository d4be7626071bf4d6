"""Whether a clip's shoot day is signed off, for catalog pages.

``{% signoff_badge clip.day %}`` renders ``catalog/_signoff_badge.html`` for
one day (one query). For lists, ``{% signed_off_days clips as days %}`` asks
once for the whole list; then include ``catalog/_signoff_mark.html`` with
``signed_off=…`` per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from catalog.models import Clip, ShootDay
from catalog.selectors import day_signed_off, signed_off_day_ids

register = template.Library()


@register.inclusion_tag("catalog/_signoff_badge.html")
def signoff_badge(day: ShootDay | None) -> dict[str, Any]:
    return {"signed_off": day_signed_off(day=day), "signoff_day": day}


@register.simple_tag
def signed_off_days(clips: Iterable[Clip]) -> set[int]:
    """Ids of the signed-off days among these clips' days, in one query."""
    return signed_off_day_ids(day_ids=(clip.day_id for clip in clips))


@register.filter
def is_in(value: object, container: set[int]) -> bool:
    return value in container
