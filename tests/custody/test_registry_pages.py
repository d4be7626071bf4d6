"""Registering and editing volumes through the pages: identifiers, identity files, roles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from catalog.models import AuditEvent, Volume
from custody.identity import IDENTITY_FILE
from custody.models import VolumeRecord
from tests.custody.conftest import audit_actions
from tests.fixtures import World


def _register(world: World, persona: str, **data: str) -> object:
    form = {"kind": "shuttle", "pattern": "{project}-{kind}-{n:03d}", "tier": "warm", "location": "/nowhere"}
    form.update(data)
    return world.client(persona).post("/p/FILM/volumes/new/", form)


@pytest.mark.parametrize("persona", ["admin", "dit"])
def test_dit_and_admin_register_a_shuttle_with_an_identifier_and_identity_file(
    world: World, persona: str, drive: Path, hostname: str
) -> None:
    response = _register(
        world,
        persona,
        host=hostname,
        location=str(drive),
        capacity_bytes="4 TB",
        serial="WX123",
        drive_model="G-Drive 4TB",
        site="Set",
        owner="Rental house",
        purchase_date="2025-03-01",
    )

    record = VolumeRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/volumes/{record.volume_id}/"
    assert record.identifier == "FILM-SH-001"
    assert record.volume.label == "FILM-SH-001"
    assert record.volume.capacity_bytes == 4 * 10**12
    assert record.volume.online is True
    identity = json.loads((drive / IDENTITY_FILE).read_text())
    assert identity == {"uuid": str(record.identity), "identifier": "FILM-SH-001", "project": "FILM"}
    event = AuditEvent.objects.get(action="volume.register")
    assert event.actor_name == persona
    assert event.after["custody"]["identifier"] == "FILM-SH-001"


def test_the_counter_skips_taken_identifiers_and_an_offline_volume_is_normal(world: World) -> None:
    _register(world, "dit", pattern="FILM-SH-001")
    _register(world, "dit", location="/elsewhere")

    identifiers = sorted(VolumeRecord.objects.values_list("identifier", flat=True))
    assert identifiers == ["FILM-SH-001", "FILM-SH-002"]
    assert not Volume.objects.get(custody__identifier="FILM-SH-002").online


def test_a_pattern_producing_a_duplicate_is_refused(world: World) -> None:
    _register(world, "dit", pattern="FILM-SH-007")
    before = audit_actions()

    response = _register(world, "dit", pattern="film-sh-007", label="another")

    assert response.status_code == 200
    assert "FILM-SH-007 is already used in FILM" in response.content.decode()
    assert VolumeRecord.objects.count() == 1
    assert audit_actions() == before


def test_a_pattern_with_an_unknown_placeholder_is_refused(world: World) -> None:
    response = _register(world, "dit", pattern="{project}-{colour}-{n}")

    assert "only {project}, {kind} and {n} exist" in response.content.decode()
    assert not VolumeRecord.objects.exists()


def test_a_drive_that_is_already_another_volume_is_refused(world: World, drive: Path, hostname: str) -> None:
    _register(world, "dit", host=hostname, location=str(drive))

    response = _register(world, "dit", host=hostname, location=str(drive), label="SECOND")

    assert response.status_code == 200
    assert "already registered as FILM-SH-001" in response.content.decode()
    assert VolumeRecord.objects.count() == 1
    assert not Volume.objects.filter(label="SECOND").exists()


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer", 403), ("editor", 403), ("producer", 403), ("outsider", 404)]
)
def test_only_dits_and_admins_register(world: World, persona: str, status: int) -> None:
    assert world.client(persona).get("/p/FILM/volumes/new/").status_code == status
    assert _register(world, persona).status_code == status
    assert not VolumeRecord.objects.exists()
    assert not AuditEvent.objects.filter(action="volume.register").exists()


def test_every_member_sees_the_registry_and_an_outsider_gets_404(world: World) -> None:
    _register(world, "dit", capacity_bytes="2 TB")
    page = world.client("viewer").get("/p/FILM/volumes/").content.decode()

    assert "FILM-SH-001" in page
    assert "2.0 TB" in page or "2 TB" in page
    assert "Register a volume" not in page
    assert world.client("outsider").get("/p/FILM/volumes/").status_code == 404
    assert "FILM-SH-001" not in world.client("outsider").get("/volumes/").content.decode()


def test_editing_changes_record_and_volume_and_audits_what_changed(world: World) -> None:
    _register(world, "dit")
    record = VolumeRecord.objects.get()

    response = world.client("dit").post(
        f"/volumes/{record.volume_id}/edit/",
        {
            "identifier": "FILM-SH-001",
            "label": "SHUTTLE-A",
            "tier": "cold",
            "location": "/nowhere",
            "site": "Vault",
            "notes": "Blue case",
        },
    )

    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.site, record.notes, record.volume.label, record.volume.tier) == (
        "Vault",
        "Blue case",
        "SHUTTLE-A",
        "cold",
    )
    event = AuditEvent.objects.filter(action="volume.update").get()
    assert event.before == {"label": "FILM-SH-001", "tier": "warm", "site": "", "notes": ""}
    assert world.client("viewer").get(f"/volumes/{record.volume_id}/edit/").status_code == 403


def test_a_volume_registered_elsewhere_gets_an_identifier_on_first_edit(world: World) -> None:
    response = world.client("dit").get(f"/volumes/{world.volume.pk}/edit/")

    assert response.status_code == 200
    assert VolumeRecord.objects.get(volume=world.volume).identifier == "FILM-RD-001"
    assert AuditEvent.objects.filter(action="custody.attach").count() == 1


def test_the_volume_page_shows_contents_capacity_and_no_iso_timestamps(world: World) -> None:
    _register(world, "dit", capacity_bytes="1 TB")
    record = VolumeRecord.objects.get()
    Volume.objects.filter(pk=record.volume_id).update(free_bytes=250 * 10**9)

    page = world.client("viewer").get(f"/volumes/{record.volume_id}/").content.decode()

    assert "FILM-SH-001" in page
    assert "250.0 GB free" in page or "250 GB free" in page
    assert "Custody timeline" in page and "Health history" in page
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page)
    assert "Hand over" not in page  # a viewer does not see the actions
    assert world.client("outsider").get(f"/volumes/{record.volume_id}/").status_code == 404


def test_the_label_sheet_is_a_pdf_with_the_identifier(world: World) -> None:
    _register(world, "dit")
    _register(world, "dit")

    response = world.client("viewer").get("/p/FILM/volumes/labels.pdf?sheet=L7163&skip=3")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert world.client("outsider").get("/p/FILM/volumes/labels.pdf").status_code == 404


def test_registry_and_board_queries_do_not_grow_with_volumes(
    world: World, django_assert_max_num_queries: Any
) -> None:
    for _ in range(6):
        _register(world, "dit")
    for record in VolumeRecord.objects.all()[:3]:
        world.client("dit").post(f"/volumes/{record.volume_id}/handoff/", {"to_place": "Lab", "seals": "S1"})
    client = world.client("viewer")

    # The registry also lists capacity with forecasts (3 queries) and the quotas (1).
    with django_assert_max_num_queries(17):
        assert client.get("/p/FILM/volumes/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/p/FILM/custody/").status_code == 200


def test_clearing_a_seal_problem_is_an_audited_edit(world: World) -> None:
    _register(world, "dit")
    record = VolumeRecord.objects.get()
    VolumeRecord.objects.filter(pk=record.pk).update(seal_problem="seal S-2 applied but not found")
    form = {"identifier": "FILM-SH-001", "label": "FILM-SH-001", "tier": "warm", "location": "/nowhere"}

    world.client("dit").post(f"/volumes/{record.volume_id}/edit/", {**form, "clear_seal_problem": "on"})

    record.refresh_from_db()
    assert record.seal_problem == ""
    assert AuditEvent.objects.get(action="volume.update").before == {
        "seal_problem": "seal S-2 applied but not found"
    }
