"""GET /api/projects/{code}/days/ and …/days/{day}/: the dashboard's figures, for members, in few queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import AuditEvent, DaySignOff, ShootDay
from tests.dashboard.conftest import TB, Site, build_site
from tests.fixtures import PERSONAS, World


def by_day(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["day"]: row for row in rows}


def test_the_list_gives_each_days_figures_and_state(site: Site) -> None:
    response = site.world.client("producer").get("/api/projects/film/days/")
    assert response.status_code == 200, response.content
    days = by_day(response.json())
    assert sorted(days) == [1, 2, 3, 4]

    one = days[1]
    assert (one["state"], one["state_label"], one["signed_off"]) == ("green", "Ready to sign off", False)
    assert one["cards"] == {"offloaded": ["A001", "B001"], "expected": [], "missing": []}
    assert (one["clips"], one["files"], one["bytes"]) == (3, 4, 4 * TB // 10)
    assert one["policy"]["met"] and one["policy"]["clips_meeting"] == 3 and one["policy"]["clips_short"] == 0
    assert one["policy"]["text"] == "3 verified copies on 2 kind(s) of media, 1 off-site"
    assert one["jobs"]["completed"] == 2 and one["jobs"]["transfer_success_rate"] == 1.0
    assert one["blockers"] == []

    two = days[2]
    assert two["state"] == "amber"
    assert two["policy"]["clips_meeting"] == 1 and two["policy"]["clips_short"] == 1
    # The report's "A2" is card A002 (offloaded); C002 never came.
    assert two["cards"] == {"offloaded": ["A002"], "expected": ["A2", "C002"], "missing": ["C002"]}
    assert any("1 of 2 clips do not meet" in b for b in two["blockers"])
    assert any("C002" in b for b in two["blockers"])

    three = days[3]
    assert three["state"] == "red" and three["state_label"] == "Needs attention"
    assert three["jobs"]["failing_cards"] == ["A003"] and three["jobs"]["pending_cards"] == ["B003"]
    assert (three["jobs"]["bytes_done"], three["jobs"]["bytes_total"]) == (250, 1000)
    assert three["verification_failures"] == {"total": 2, "corrupt": 1, "missing": 0, "failed": 1}
    assert three["review_open"] == 1
    assert three["cards"]["offloaded"] == []  # A003 failed, B003 still copying

    assert days[4]["state"] == "grey" and days[4]["clips"] == 0


def test_a_failed_offload_stops_counting_once_the_card_is_offloaded_again(site: Site) -> None:
    site.job("A003", day=3, state="completed", safe_to_format=True)
    three = site.world.client("producer").get("/api/projects/FILM/days/3/").json()
    assert three["jobs"]["failing_cards"] == [] and three["jobs"]["completed"] == 1
    assert three["cards"]["offloaded"] == ["A003"]
    assert three["jobs"]["transfer_success_rate"] == 0.5


def test_the_detail_lists_what_is_behind_the_figures(site: Site) -> None:
    response = site.world.client("viewer").get("/api/projects/FILM/days/2/")
    assert response.status_code == 200
    detail = response.json()
    assert [c["name"] for c in detail["short_clips"]] == ["A002C002"]
    assert detail["short_clips"][0]["reasons"] == ["2 of 3 verified copies"]
    assert [c["label"] for c in detail["expected_cards"]] == ["A2", "C002"]
    assert detail["history"] == [] and detail["signed_off"] is False
    three = site.world.client("viewer").get("/api/projects/FILM/days/3/").json()
    assert {(c["volume"], c["state"]) for c in three["failed_copies"]} == {
        ("NAS-1", "corrupt"),
        ("LTO-1", "failed"),
    }
    assert {o["card"]: o["state"] for o in three["offloads"]} == {"A003": "incomplete", "B003": "running"}


def test_units_sharing_a_day_number_are_told_apart(site: Site) -> None:
    second = ShootDay.objects.create(project=site.project, number=1, unit="second", date=site.days[1].date)
    site.clip("S001C001", day=1, card="S001", copies={"RAID-A": "verified"})
    site.clips["S001C001"].day = second
    site.clips["S001C001"].save()
    client = site.world.client("producer")
    assert client.get("/api/projects/FILM/days/1/").json()["clips"] == 3  # main unit
    second_unit = client.get("/api/projects/FILM/days/1/?unit=second").json()
    assert (second_unit["unit"], second_unit["clips"], second_unit["state"]) == ("second", 1, "amber")
    assert client.get("/api/projects/FILM/days/1/?unit=third").status_code == 404


@pytest.mark.parametrize("persona", [*PERSONAS, "anonymous"])
def test_every_member_reads_the_days_and_nobody_else(site: Site, persona: str) -> None:
    client = site.world.client(persona)
    before = AuditEvent.objects.count()
    listing = client.get("/api/projects/FILM/days/")
    detail = client.get("/api/projects/FILM/days/1/")
    expected = {"anonymous": 401, "outsider": 404}.get(persona, 200)
    assert (listing.status_code, detail.status_code) == (expected, expected)
    assert AuditEvent.objects.count() == before  # reading is not audited
    assert client.get("/api/projects/OTHER/days/").status_code == (
        200 if persona == "outsider" else {"anonymous": 401}.get(persona, 404)
    )


def test_the_list_costs_the_same_queries_for_two_days_or_twenty(world: World) -> None:
    site = build_site(world, days=2)
    client = site.world.client("producer")
    client.get("/api/projects/FILM/days/")  # warm up (session, content types)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/api/projects/FILM/days/").status_code == 200
    for number in range(3, 21):
        day = ShootDay.objects.create(project=site.project, number=number, date=site.days[1].date)
        site.days[number] = day
        site.clip(f"X{number:03d}C001", day=number, card=f"X{number:03d}", copies={"RAID-A": "verified"})
        site.job(f"X{number:03d}", day=number, state="completed")
        if number % 2:
            DaySignOff.objects.create(
                day=day,
                action="sign_off",
                actor=site.world.users["producer"],
                actor_name="producer",
                at=timezone.now(),
            )
    with CaptureQueriesContext(connection) as large:
        response = client.get("/api/projects/FILM/days/")
    assert len(response.json()) == 20
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
    # Session and user, the project and its role check, the days, then 8 aggregates.
    assert len(small) <= 13, [q["sql"][:120] for q in small.captured_queries]
