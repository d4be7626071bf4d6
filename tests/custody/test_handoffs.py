"""Custody handoffs through the pages: hand over with seals, receive, flag a mismatch, alert."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from catalog.models import AuditEvent
from custody.models import Handoff, VolumeRecord
from tests.fixtures import World


@pytest.fixture
def shuttle(world: World) -> VolumeRecord:
    world.client("dit").post(
        "/p/FILM/volumes/new/",
        {"kind": "shuttle", "pattern": "{project}-{kind}-{n:03d}", "tier": "warm", "location": "/nowhere"},
    )
    return VolumeRecord.objects.get()


def _hand_over(world: World, record: VolumeRecord, persona: str = "dit", **data: str) -> object:
    form = {"to_user": str(world.users["viewer"].pk), "where": "Stage 4", "seals": "A100, A101"}
    form.update(data)
    return world.client(persona).post(f"/volumes/{record.volume_id}/handoff/", form)


def test_a_handoff_is_in_transit_until_received_with_matching_seals(
    world: World, shuttle: VolumeRecord
) -> None:
    response = _hand_over(world, shuttle, condition="sealed case")

    assert response.status_code == 302
    handoff = Handoff.objects.get()
    assert (handoff.state, handoff.seals_applied, handoff.from_name, handoff.to_name) == (
        "in_transit",
        ["A100", "A101"],
        "unrecorded",
        "viewer",
    )
    board = world.client("producer").get("/p/FILM/custody/").content.decode()
    assert "In transit" in board and "unrecorded → viewer" in board

    # The named receiver confirms, whatever their role.
    page = world.client("viewer").get(f"/handoffs/{handoff.pk}/receive/").content.decode()
    assert "A100" not in page  # the receiver reads the seals on the drive, not on the screen
    response = world.client("viewer").post(f"/handoffs/{handoff.pk}/receive/", {"seals_found": "a101 a100"})

    assert response.status_code == 302
    handoff.refresh_from_db()
    assert (handoff.state, handoff.seal_mismatch, handoff.received_by) == (
        "received",
        False,
        world.users["viewer"],
    )
    assert not Alert.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(object_type="custody.handoff").order_by("id")] == [
        "custody.handoff",
        "custody.receive",
    ]
    board = world.client("producer").get("/p/FILM/custody/").content.decode()
    assert "In transit" not in board and "Stage 4" in board


def test_a_different_seal_flags_the_volume_and_raises_an_alert(world: World, shuttle: VolumeRecord) -> None:
    _hand_over(world, shuttle, to_user="", to_place="Lab", seals="S-1 S-2")
    handoff = Handoff.objects.get()

    response = world.client("dit").post(f"/handoffs/{handoff.pk}/receive/", {"seals_found": "S-1, S-9"})

    assert response.status_code == 302
    handoff.refresh_from_db()
    shuttle.refresh_from_db()
    assert handoff.seal_mismatch is True
    assert handoff.seals_found == ["S-1", "S-9"]
    assert "S-2 applied but not found" in shuttle.seal_problem
    assert "S-9 found but never applied" in shuttle.seal_problem
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.project) == ("custody.seal_mismatch", "critical", world.project)
    assert alert.link == f"/volumes/{shuttle.volume_id}/"
    page = world.client("viewer").get(f"/volumes/{shuttle.volume_id}/").content.decode()
    assert "Seal problem" in page and "mismatch" in page
    # Receiving twice is refused.
    again = world.client("dit").post(f"/handoffs/{handoff.pk}/receive/", {"seals_found": "S-1 S-2"})
    assert "already received" in again.content.decode()


def test_a_handoff_to_a_person_who_is_not_a_member_is_refused(world: World, shuttle: VolumeRecord) -> None:
    response = _hand_over(world, shuttle, to_user=str(world.users["outsider"].pk))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Handoff.objects.exists()


def test_a_volume_in_transit_cannot_be_handed_over_again(world: World, shuttle: VolumeRecord) -> None:
    _hand_over(world, shuttle)
    response = _hand_over(world, shuttle, to_user="", to_place="Vault")

    assert "already in transit" in response.content.decode()
    assert Handoff.objects.count() == 1


@pytest.mark.parametrize(("persona", "status"), [("viewer", 403), ("editor", 403), ("outsider", 404)])
def test_only_dits_and_admins_hand_over(
    world: World, shuttle: VolumeRecord, persona: str, status: int
) -> None:
    assert _hand_over(world, shuttle, persona=persona).status_code == status
    assert not Handoff.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("editor", 403), ("producer", 403), ("outsider", 404)])
def test_only_the_receiver_dits_and_admins_receive(
    world: World, shuttle: VolumeRecord, persona: str, status: int
) -> None:
    _hand_over(world, shuttle)
    handoff = Handoff.objects.get()

    assert world.client(persona).post(f"/handoffs/{handoff.pk}/receive/", {}).status_code == status
    handoff.refresh_from_db()
    assert handoff.state == "in_transit"
