"""Bad input the issue names that the other custody tests do not reach through these doors."""

from __future__ import annotations

from catalog.models import AuditEvent
from custody.models import Handoff, VolumeRecord
from tests.fixtures import World

REGISTER = {"project": "FILM", "kind": "shuttle", "location": "/nowhere", "tier": "warm"}


def test_renaming_a_volume_to_an_identifier_already_used_is_refused(world: World) -> None:
    dit = world.client("dit")
    for _ in range(2):
        dit.post(
            "/p/FILM/volumes/new/",
            {
                "kind": "shuttle",
                "pattern": "{project}-{kind}-{n:03d}",
                "tier": "warm",
                "location": "/nowhere",
            },
        )
    second = VolumeRecord.objects.get(identifier="FILM-SH-002")
    before = AuditEvent.objects.count()

    response = dit.post(
        f"/volumes/{second.volume_id}/edit/",
        {"identifier": "film-sh-001", "label": "", "tier": "warm", "location": "/nowhere"},
    )

    assert response.status_code == 200
    assert "FILM-SH-001 is already used in FILM" in response.content.decode()
    second.refresh_from_db()
    assert second.identifier == "FILM-SH-002" and AuditEvent.objects.count() == before


def test_a_handoff_from_a_person_who_is_not_a_member_is_refused_through_the_api(world: World) -> None:
    volume_id = world.client("dit").post("/api/custody-volumes/", REGISTER, format="json").json()["id"]
    before = AuditEvent.objects.count()

    response = world.client("dit").post(
        "/api/handoffs/",
        {"volume": volume_id, "from_user": "outsider", "to_place": "Lab", "seals": ["1"]},
        format="json",
    )

    assert response.status_code == 400 and "outsider is not a member of FILM" in response.json()["detail"]
    assert not Handoff.objects.exists() and AuditEvent.objects.count() == before
