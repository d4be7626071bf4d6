"""Incidents through the pages: opened from an alert, a lesson that edits the runbook (versioned, audited)."""

from __future__ import annotations

import pytest

from alerts.services import alert_raise
from catalog.models import AuditEvent
from recovery.models import Incident, RunbookVersion
from tests.fixtures import PERSONAS, World


def raise_alert(world: World) -> int:
    return alert_raise(
        project=world.project,
        key="copy.corrupt:volume:1",
        kind="copy.corrupt",
        severity="critical",
        title="FILM: corrupt copies on RAID-A",
        body="Found during a restore.",
        items=["A001/A001C001.mov"],
    ).alert.pk


def test_an_incident_from_an_alert_ends_with_a_lesson_that_edits_the_runbook(world: World) -> None:
    alert_id = raise_alert(world)
    dit, producer = world.client("dit"), world.client("producer")
    assert "Open an incident" in dit.get(f"/alerts/{alert_id}/").content.decode()
    response = dit.post(f"/alerts/{alert_id}/incident/")
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert incident.alert_id == alert_id and incident.title == "FILM: corrupt copies on RAID-A"
    # Opening it again from the alert goes to the same open incident.
    assert dit.post(f"/alerts/{alert_id}/incident/")["Location"] == f"/incidents/{incident.pk}/"
    page = dit.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Alert raised: FILM: corrupt copies on RAID-A" in page

    dit.post(f"/incidents/{incident.pk}/note/", {"text": "RAID-A disk 3 reports media errors"})
    dit.post(
        f"/incidents/{incident.pk}/impact/",
        {
            "clips_affected": "12",
            "days_affected": "3",
            "hours_lost": "2.5",
            "impact": "re-copied from the shuttle",
            "people": [str(world.users["producer"].pk)],
        },
    )
    # A DIT may write a lesson but not change the runbook with it: refused and audited.
    refused = dit.post(
        f"/incidents/{incident.pk}/lesson/", {"text": "x", "runbook_tier": "hot", "steps": "Check SMART"}
    )
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="incident.lesson_refused", actor_name="dit").count() == 1

    producer.post(
        f"/incidents/{incident.pk}/lesson/",
        {
            "text": "Nobody looked at the RAID's SMART warnings for a week",
            "action": "Read SMART before every wrap",
            "runbook_tier": "hot",
            "who": "DIT on duty, then the data manager",
            "steps": "Read the RAID's SMART page\nIf a disk warns, copy the day to a shuttle first",
            "notes": "Spare disks are in the camera truck.",
        },
    )
    version = RunbookVersion.objects.get()
    assert version.version == 1 and version.incident_id == incident.pk and version.lesson is not None
    edit = AuditEvent.objects.get(action="runbook.section_edit")
    assert (
        edit.after["incident"] == incident.pk and edit.after["version"] == 1 and edit.actor_name == "producer"
    )

    runbook = world.client("viewer").get("/p/FILM/runbook/").content.decode()
    assert "Written by the crew (version 1)" in runbook
    assert "If a disk warns, copy the day to a shuttle first" in runbook
    assert f"incident {incident.pk}: FILM: corrupt copies on RAID-A" in runbook

    producer.post(
        f"/incidents/{incident.pk}/lesson/",
        {
            "text": "The spare disks were not in the truck",
            "runbook_tier": "hot",
            "steps": "Read SMART",
            "notes": "Spare disks: production office.",
        },
    )
    history = world.client("viewer").get("/p/FILM/runbook/hot/history/").content.decode()
    assert (
        "Version 2" in history
        and "Version 1" in history
        and "Spare disks are in the camera truck." in history
    )
    assert (
        "Written by the crew (version 2)" in world.client("viewer").get("/p/FILM/runbook/").content.decode()
    )

    dit.post(f"/incidents/{incident.pk}/resolve/", {"resolution": "Disk replaced, day 3 re-verified"})
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.hours_lost == 2.5 and incident.clips_affected == 12
    assert sorted(incident.people.values_list("username", flat=True)) == ["dit", "producer"]
    page = world.client("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    for line in ("RAID-A disk 3 reports media errors", "Lesson: Nobody looked", "Resolved: Disk replaced"):
        assert line in page
    listing = world.client("viewer").get("/p/FILM/incidents/").content.decode()
    assert "FILM: corrupt copies on RAID-A" in listing and "Resolved" in listing
    actions = set(AuditEvent.objects.filter(object_type="recovery.incident").values_list("action", flat=True))
    assert actions >= {
        "incident.open",
        "incident.note",
        "incident.impact",
        "incident.lesson",
        "incident.resolve",
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_for_incidents(world: World, persona: str) -> None:
    incident = Incident.objects.create(project=world.project, title="Shuttle S3 late")
    client = world.client(persona)
    page = client.get(f"/incidents/{incident.pk}/").status_code
    desk = client.get("/p/FILM/desk/").status_code
    before = AuditEvent.objects.count()
    note = client.post(f"/incidents/{incident.pk}/note/", {"text": "called the courier"}).status_code
    writers = {"admin", "producer", "dit", "it_support"}
    if persona == "outsider":
        assert (page, desk, note) == (404, 404, 404)
        assert AuditEvent.objects.count() == before
    elif persona in writers:
        assert (page, desk, note) == (200, 200, 302)
        assert AuditEvent.objects.filter(action="incident.note", actor_name=persona).count() == 1
    else:
        assert (page, desk, note) == (200, 200, 403)
        assert AuditEvent.objects.filter(action="incident.note_refused", actor_name=persona).count() == 1


def test_incidents_are_counted_in_trends_per_month_and_cause(world: World) -> None:
    for title, cause in [("RAID-A disk", "drive"), ("RAID-B disk", "drive"), ("Shuttle late", "shipping")]:
        world.client("dit").post("/p/FILM/incidents/", {"title": title, "cause": cause})
    assert Incident.objects.count() == 3
    page = world.client("viewer").get("/p/FILM/trends/").content.decode()
    assert "Incidents per month" in page and "Incidents per cause" in page
    assert "Drive or RAID failure" in page and "Lost or late shuttle" in page
