"""A moment in words, the way every page shows it: local time (REELVAULT_TIME_ZONE) with its zone.

Pages format datetimes with ``|date:"DATETIME_FORMAT"`` (the project's format
module, ``reelvault/locale_formats``, takes its format from here). Messages,
reports, emails and command output built in Python use ``when_text`` so that
a DIT reads "Dec. 6, 2026, 2:35 a.m. UTC" on the offload screen, in the
transfer report and in the alert email alike, never "2026-12-06 02:35".
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import dateformat, timezone

DATETIME_FORMAT = "N j, Y, P T"


def when_text(moment: datetime | None, *, empty: str = "—") -> str:
    """``moment`` in local time with its zone; ``empty`` for None. A naive datetime is taken as UTC."""
    if moment is None:
        return empty
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return dateformat.format(timezone.localtime(moment), DATETIME_FORMAT)
