"""/api/incidents/ and /api/checklists/: the pages' gate and role rules, the schema; the incident PDF."""

from __future__ import annotations

import pytest
import yaml

from catalog.models import AuditEvent
from recovery.models import Checklist, ChecklistItem, ChecklistRun, Incident, RunbookVersion
from tests.fixtures import PERSONAS, ShootDayFactory, World

WRITERS = {"admin", "producer", "dit", "it_support"}


def test_an_incident_through_the_api_from_opening_to_a_lesson_that_edits_the_runbook(world: World) -> None:
    dit, producer = world.client("dit"), world.client("producer")
    opened = dit.post(
        "/api/incidents/",
        {"project": "film", "title": "RAID-A disk 3 failing", "cause": "drive"},
        format="json",
    )
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["project"] == "FILM" and body["opened_by"] == "dit" and body["state"] == "open"
    assert [e["text"] for e in body["events"]] == ["Incident opened"]
    incident_id = body["id"]

    note = dit.post(f"/api/incidents/{incident_id}/note/", {"text": "media errors"}, format="json")
    assert note.status_code == 200 and note.json()["events"][-1]["text"] == "media errors"

    # A DIT may write a lesson, not rewrite the runbook with it (403, audited); the producer may.
    lesson = {"text": "SMART warnings unread", "action": "Read SMART at wrap", "runbook_tier": "hot"}
    refused = dit.post(f"/api/incidents/{incident_id}/lesson/", {**lesson, "steps": "x"}, format="json")
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="incident.lesson_refused", actor_name="dit").count() == 1
    assert (
        dit.post(f"/api/incidents/{incident_id}/lesson/", {"text": "Label disks"}, format="json").status_code
        == 200
    )
    written = producer.post(
        f"/api/incidents/{incident_id}/lesson/",
        {**lesson, "steps": "Read the RAID's SMART page"},
        format="json",
    )
    assert written.status_code == 200
    assert [entry["text"] for entry in written.json()["lessons"]] == ["Label disks", "SMART warnings unread"]
    version = RunbookVersion.objects.get()
    assert version.incident_id == incident_id and version.steps == "Read the RAID's SMART page"

    assert dit.post(f"/api/incidents/{incident_id}/resolve/", {}, format="json").status_code == 400
    resolved = dit.post(
        f"/api/incidents/{incident_id}/resolve/", {"resolution": "disk swapped"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    again = dit.post(f"/api/incidents/{incident_id}/resolve/", {"resolution": "again"}, format="json")
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]

    listing = world.client("viewer").get("/api/incidents/?project__code=FILM&state=resolved").json()
    assert [row["title"] for row in listing["results"]] == ["RAID-A disk 3 failing"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_for_the_incident_api(world: World, persona: str) -> None:
    incident = Incident.objects.create(project=world.project, title="Shuttle S3 late")
    client = world.client(persona)
    read = client.get(f"/api/incidents/{incident.pk}/").status_code
    listed = [row["id"] for row in client.get("/api/incidents/").json()["results"]]
    note = client.post(f"/api/incidents/{incident.pk}/note/", {"text": "called"}, format="json").status_code
    opened = client.post("/api/incidents/", {"project": "FILM", "title": "x"}, format="json").status_code
    if persona == "outsider":
        assert (read, listed, note, opened) == (404, [], 404, 404)
    elif persona in WRITERS:
        assert (read, listed, note, opened) == (200, [incident.pk], 200, 201)
    else:
        assert (read, listed, note, opened) == (200, [incident.pk], 403, 403)
        refusals = AuditEvent.objects.filter(
            actor_name=persona, action__in=["incident.note_refused", "incident.open_refused"]
        )
        assert refusals.count() == 2


def make_wrap(world: World, *, role: str = "dit") -> Checklist:
    checklist = Checklist.objects.create(project=world.project, name="Wrap", kind="wrap", role=role)
    for position, text in enumerate(["Cards offloaded twice", "Shuttle sealed"], start=1):
        ChecklistItem.objects.create(checklist=checklist, position=position, text=text)
    return checklist


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_for_the_checklist_api(world: World, persona: str) -> None:
    ShootDayFactory(project=world.project, number=4)
    checklist = make_wrap(world)
    items = list(checklist.items.values_list("pk", flat=True))
    client = world.client(persona)
    read = client.get(f"/api/checklists/{checklist.pk}/")
    done = client.post(
        f"/api/checklists/{checklist.pk}/complete/", {"item_ids": items, "day": 4}, format="json"
    )
    if persona == "outsider":
        assert (read.status_code, done.status_code) == (404, 404)
    elif persona in ("admin", "dit"):
        assert read.status_code == 200 and read.json()["items"][0]["text"] == "Cards offloaded twice"
        assert done.status_code == 201 and done.json()["day"] == 4 and done.json()["completed_by"] == persona
    else:
        assert (read.status_code, done.status_code) == (200, 403)
        assert AuditEvent.objects.filter(action="checklist.complete_refused", actor_name=persona).count() == 1
        assert not ChecklistRun.objects.exists()


def test_a_checklist_with_an_item_unticked_is_not_completed(world: World) -> None:
    checklist = make_wrap(world)
    first = checklist.items.first()
    assert first is not None
    response = world.client("dit").post(
        f"/api/checklists/{checklist.pk}/complete/", {"item_ids": [first.pk]}, format="json"
    )
    assert response.status_code == 409 and "Shuttle sealed" in response.json()["detail"]
    missing_day = world.client("dit").post(
        f"/api/checklists/{checklist.pk}/complete/", {"item_ids": [first.pk], "day": 99}, format="json"
    )
    assert missing_day.status_code == 409 and "no shoot day 99" in missing_day.json()["detail"]


def test_the_openapi_schema_documents_incidents_and_checklists(world: World) -> None:
    schema = yaml.safe_load(world.client("viewer").get("/api/schema/").content)
    for path in (
        "/api/incidents/",
        "/api/incidents/{id}/",
        "/api/incidents/{id}/lesson/",
        "/api/incidents/{id}/note/",
        "/api/incidents/{id}/resolve/",
        "/api/checklists/",
        "/api/checklists/{id}/complete/",
    ):
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    assert "runbook_tier" in components["LessonAdd"]["properties"]
    assert "resolution" in components["IncidentResolve"]["properties"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_incident_pdf_is_linked_and_its_download_audited(world: World, persona: str) -> None:
    incident = Incident.objects.create(project=world.project, title="Card A007 unreadable", cause="card")
    client = world.client(persona)
    response = client.get(f"/incidents/{incident.pk}/pdf/")
    if persona == "outsider":
        assert response.status_code == 404
        assert not AuditEvent.objects.filter(action="incident.pdf_download").exists()
        return
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert (
        f'href="/incidents/{incident.pk}/pdf/"' in client.get(f"/incidents/{incident.pk}/").content.decode()
    )
    entry = AuditEvent.objects.get(action="incident.pdf_download")
    assert entry.actor_name == persona and entry.object_id == str(incident.pk)
