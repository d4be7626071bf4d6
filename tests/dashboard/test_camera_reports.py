"""Cards still to come: a camera report (ZoeLog JSON) says which cards were shot; the missing ones show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import AuditEvent, ShootDay
from dashboard.camera_reports import CameraReportError, parse_camera_report
from dashboard.models import ExpectedCard
from tests.dashboard.conftest import Site


@pytest.fixture
def zoelog(samples: Path) -> Path:
    return samples / "reports" / "zoelog_camera_report_Example.json"


def test_the_zoelog_sample_lists_two_rolls_with_their_takes(zoelog: Path) -> None:
    cards = parse_camera_report(json.loads(zoelog.read_text()))
    assert [(c.label, c.camera, str(c.shooting_date), c.clips) for c in cards] == [
        ("A34", "A", "2024-01-03", 9),
        ("B25", "B", "2024-01-03", 3),
    ]


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({}, 'no "reports"'),
        ({"reports": [{"camera": "A"}]}, "has no roll"),
        ({"reports": [{"roll": "A1", "shooting_date": "3 Jan"}]}, "not a date"),
        ({"cards": []}, "lists no card"),
        ({"cards": [7]}, "neither a card name"),
    ],
)
def test_unreadable_reports_say_what_is_wrong(report: dict[str, object], message: str) -> None:
    with pytest.raises(CameraReportError, match=message):
        parse_camera_report(report)


def test_a_dit_imports_the_report_through_the_api_and_the_day_shows_missing_cards(
    site: Site, zoelog: Path
) -> None:
    day = ShootDay.objects.create(project=site.project, number=9, date="2024-01-03")
    site.days[9] = day
    site.job("A034", day=9, state="completed", safe_to_format=True)
    client = site.world.client("dit")
    response = client.post(
        "/api/projects/FILM/camera-reports/?source=zoelog.json", json.loads(zoelog.read_text()), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"cards": 2, "days": [{"day": 9, "unit": "main", "cards": ["A34", "B25"]}]}
    figures = client.get("/api/projects/FILM/days/9/").json()
    # A34 is card A034, offloaded; B25 has not been offloaded yet.
    assert figures["cards"]["missing"] == ["B25"] and figures["state"] == "amber"
    assert {c["label"]: c["clips"] for c in figures["expected_cards"]} == {"A34": 9, "B25": 3}
    assert AuditEvent.objects.filter(action="day.expected_cards_import", object_id=str(day.pk)).exists()
    # Importing again updates, never duplicates.
    assert (
        client.post(
            "/api/projects/FILM/camera-reports/", json.loads(zoelog.read_text()), format="json"
        ).status_code
        == 201
    )
    assert ExpectedCard.objects.filter(day=day).count() == 2
    # A card listed by mistake is removed by a DIT or producer, not an editor.
    assert (
        site.world.client("editor").delete("/api/projects/FILM/days/9/expected-cards/B25/").status_code == 403
    )
    assert client.delete("/api/projects/FILM/days/9/expected-cards/b25/").status_code == 204
    assert client.get("/api/projects/FILM/days/9/").json()["cards"]["missing"] == []
    assert client.delete("/api/projects/FILM/days/9/expected-cards/B25/").status_code == 404


def test_a_report_for_a_date_without_a_shoot_day_is_refused(site: Site, zoelog: Path) -> None:
    response = site.world.client("producer").post(
        "/api/projects/FILM/camera-reports/", json.loads(zoelog.read_text()), format="json"
    )
    assert response.status_code == 400 and "no shoot day dated 2024-01-03" in response.json()[0]
    # Given the day, it goes there.
    forced = site.world.client("producer").post(
        "/api/projects/FILM/camera-reports/?day=4", json.loads(zoelog.read_text()), format="json"
    )
    assert forced.status_code == 201 and forced.json()["days"][0]["day"] == 4


@pytest.mark.parametrize(("persona", "expected"), [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_weak_roles_and_outsiders_cannot_import(site: Site, persona: str, expected: int) -> None:
    response = site.world.client(persona).post(
        "/api/projects/FILM/camera-reports/?day=1", {"cards": ["A001"]}, format="json"
    )
    assert response.status_code == expected
    assert not ExpectedCard.objects.filter(day=site.days[1]).exists()


def test_the_command_imports_a_report_for_a_given_day(site: Site, zoelog: Path) -> None:
    call_command("import_camera_report", "FILM", str(zoelog), "--day", "3")
    assert sorted(ExpectedCard.objects.filter(day=site.days[3]).values_list("label", flat=True)) == [
        "A34",
        "B25",
    ]
    event = AuditEvent.objects.get(action="day.expected_cards_import")
    assert event.source.startswith("cli:") and event.after["source"] == zoelog.name
    with pytest.raises(CommandError, match="no day 42"):
        call_command("import_camera_report", "FILM", str(zoelog), "--day", "42")
