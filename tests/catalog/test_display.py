"""A moment in words in messages, reports and emails: the pages' format, local time, with the zone."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import override_settings
from django.utils import timezone

from catalog.display import when_text


@override_settings(TIME_ZONE="Europe/Paris")
def test_a_moment_is_shown_in_local_time_with_its_zone_as_the_pages_show_it() -> None:
    timezone.activate("Europe/Paris")
    try:
        assert when_text(datetime(2026, 12, 6, 2, 35, tzinfo=UTC)) == "Dec. 6, 2026, 3:35 a.m. CET"
        assert when_text(datetime(2026, 7, 1, 10, 0, tzinfo=UTC)) == "July 1, 2026, noon CEST"
        naive = datetime(2026, 12, 6, 2, 35)  # noqa: DTZ001 - what an old row or a library may hand over
        assert when_text(naive) == "Dec. 6, 2026, 3:35 a.m. CET"  # taken as UTC
    finally:
        timezone.deactivate()


def test_no_moment_reads_as_a_dash_or_what_the_caller_says() -> None:
    assert when_text(None) == "—"
    assert when_text(None, empty="never") == "never"
