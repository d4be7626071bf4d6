"""Dates and times as every page shows them: local time (REELVAULT_TIME_ZONE) with its zone.

Django's own English formats leave the zone out ("Nov. 3, 2026, 7:30 a.m."),
which on a production spread over time zones is ambiguous. ``T`` adds the
zone's abbreviation ("Nov. 3, 2026, 7:30 a.m. CET").
"""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
