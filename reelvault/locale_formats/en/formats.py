"""Dates and times as every page shows them: local time (REELVAULT_TIME_ZONE) with its zone.

Django's own English formats leave the zone out ("Nov. 3, 2026, 7:30 a.m."),
which on a production spread over time zones is ambiguous. ``T`` adds the
zone's abbreviation ("Nov. 3, 2026, 7:30 a.m. CET"). The format is
``catalog.display``'s, which messages and documents built in Python use too.
"""

from catalog.display import DATETIME_FORMAT

SHORT_DATETIME_FORMAT = "m/d/Y P T"

__all__ = ["DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"]
