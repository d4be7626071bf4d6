"""Template helpers of the producer's view.

Shares as producers read them; sizes use ``{% load units %}`` (``formats/units.py``),
like every page. The sign-off badge and marks are catalog's
(``catalog/templatetags/signoff.py``).
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(done: int | float | None, total: int | float | None) -> int:
    return int(100 * (done or 0) / total) if total else 0
