"""The custody API: the same operations and the same role rules as the pages, in the OpenAPI schema."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from catalog.models import AuditEvent
from custody.models import Handoff, SmartReading, VolumeRecord
from tests.fixtures import World

REGISTER = {"project": "FILM", "kind": "raid", "location": "/srv/raid9", "capacity_bytes": 8 * 10**12}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin", 201), ("dit", 201), ("producer", 403), ("editor", 403), ("viewer", 403), ("outsider", 404)],
)
def test_register_through_the_api(world: World, persona: str, status: int) -> None:
    response = world.client(persona).post("/api/custody-volumes/", REGISTER, format="json")

    assert response.status_code == status
    assert VolumeRecord.objects.exists() is (status == 201)
    assert AuditEvent.objects.filter(action="volume.register").exists() is (status == 201)
    if status == 201:
        assert response.json()["identifier"] == "FILM-RD-001"
        assert response.json()["capacity_bytes"] == 8 * 10**12


def test_a_duplicate_identifier_answers_400(world: World) -> None:
    client = world.client("dit")
    client.post("/api/custody-volumes/", {**REGISTER, "pattern": "FILM-RAID-1"}, format="json")

    response = client.post("/api/custody-volumes/", {**REGISTER, "pattern": "FILM-RAID-1"}, format="json")

    assert response.status_code == 400
    assert "already used" in response.json()["detail"]


def test_list_read_and_edit_with_roles(world: World) -> None:
    volume_id = world.client("dit").post("/api/custody-volumes/", REGISTER, format="json").json()["id"]

    assert [
        v["id"] for v in world.client("viewer").get("/api/custody-volumes/?project=FILM").json()["results"]
    ] == [volume_id]
    assert world.client("outsider").get("/api/custody-volumes/").json()["results"] == []
    assert world.client("outsider").get(f"/api/custody-volumes/{volume_id}/").status_code == 404
    assert (
        world.client("viewer").patch(f"/api/custody-volumes/{volume_id}/", {"site": "x"}).status_code == 403
    )
    response = world.client("dit").patch(
        f"/api/custody-volumes/{volume_id}/", {"site": "Lab", "identifier": "film-raid-main"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["site"], response.json()["identifier"]) == ("Lab", "FILM-RAID-MAIN")


def test_hand_over_and_receive_through_the_api_with_a_seal_mismatch(world: World) -> None:
    volume_id = world.client("dit").post("/api/custody-volumes/", REGISTER, format="json").json()["id"]
    payload = {"volume": volume_id, "to_user": "producer", "where": "Set", "seals": ["7001", "7002"]}

    assert world.client("viewer").post("/api/handoffs/", payload, format="json").status_code == 403
    assert world.client("outsider").post("/api/handoffs/", payload, format="json").status_code == 404
    refused = world.client("dit").post("/api/handoffs/", {**payload, "to_user": "outsider"}, format="json")
    assert refused.status_code == 400 and "not a member" in refused.json()["detail"]
    created = world.client("dit").post("/api/handoffs/", payload, format="json")
    assert created.status_code == 201
    handoff_id = created.json()["id"]
    assert created.json()["state"] == "in_transit"

    assert world.client("editor").post(f"/api/handoffs/{handoff_id}/receive/", {}).status_code == 403
    received = world.client("producer").post(
        f"/api/handoffs/{handoff_id}/receive/", {"seals_found": ["7001", "7003"]}, format="json"
    )

    assert received.status_code == 200
    assert received.json()["seal_mismatch"] is True
    assert Alert.objects.get().kind == "custody.seal_mismatch"
    listed = world.client("viewer").get(f"/api/handoffs/?volume={volume_id}").json()["results"]
    assert [h["state"] for h in listed] == ["received"]
    assert world.client("outsider").get(f"/api/handoffs/{handoff_id}/").status_code == 404
    assert Handoff.objects.get().received_by == world.users["producer"]


def test_smart_readings_are_listed_for_members_only(world: World) -> None:
    SmartReading.objects.create(
        volume=world.volume, taken_at="2026-11-02T10:00:00Z", host="h", verdict="healthy"
    )

    assert (
        len(world.client("viewer").get(f"/api/smart-readings/?volume={world.volume.pk}").json()["results"])
        == 1
    )
    assert world.client("outsider").get("/api/smart-readings/").json()["results"] == []


def test_the_schema_describes_the_custody_operations(world: World) -> None:
    schema = world.client("viewer").get("/api/schema/?format=json").json()

    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/custody-volumes/"])
    assert "patch" in paths["/api/custody-volumes/{id}/"]
    assert "post" in paths["/api/handoffs/{id}/receive/"]
    assert "get" in paths["/api/smart-readings/"]
