"""WORM that means something: the catalog refuses deleting, renaming or un-WORMing copies on a WORM volume."""

from __future__ import annotations

import pytest
from django.utils import timezone

from catalog.models import AuditEvent, Clip, Copy, MediaFile, Volume
from custody.models import VolumeRecord
from tests.fixtures import World

pytestmark = pytest.mark.django_db


def _worm_with_a_copy(world: World) -> Volume:
    volume = world.volume
    volume.worm = True
    volume.save()
    clip = Clip.objects.create(project=world.project, name="A001C001")
    media_file = MediaFile.objects.create(clip=clip, relative_path="A001C001.mov", size=10, xxh128="a" * 32)
    Copy.objects.create(
        media_file=media_file,
        volume=volume,
        path="A001/A001C001.mov",
        state=Copy.State.VERIFIED,
        hash_found="a" * 32,
        verified_at=timezone.now(),
    )
    return volume


def _admin_form(volume: Volume, **changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "project": volume.project_id,
        "label": volume.label,
        "kind": volume.kind,
        "tier": volume.tier,
        "host": volume.host,
        "location": volume.location,
        "health": volume.health,
        "online": "on",
        "worm": "on",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_the_admin_refuses_to_delete_a_worm_volume_holding_copies(world: World) -> None:
    volume = _worm_with_a_copy(world)
    client = world.client("admin")
    response = client.post(f"/admin/catalog/volume/{volume.pk}/delete/", {"post": "yes"}, follow=True)
    page = response.content.decode()
    assert "RAID-A is WORM (write once, read many) and holds 1 copy: it cannot be deleted" in page
    assert Volume.objects.filter(pk=volume.pk).exists()
    event = AuditEvent.objects.get(action="volume.delete_refused")
    assert event.actor_name == "admin" and "cannot be deleted" in event.after["reason"]
    # The changelist's "delete selected" is refused too.
    response = client.post(
        "/admin/catalog/volume/",
        {"action": "delete_selected", "_selected_action": [volume.pk], "post": "yes"},
        follow=True,
    )
    assert "it cannot be deleted from the catalog" in response.content.decode()
    assert Volume.objects.filter(pk=volume.pk).exists()
    assert AuditEvent.objects.filter(action="volume.delete_refused").count() == 2


def test_the_admin_refuses_to_make_a_worm_volume_rewritable_but_edits_the_rest(world: World) -> None:
    volume = _worm_with_a_copy(world)
    client = world.client("admin")
    refused = client.post(
        f"/admin/catalog/volume/{volume.pk}/change/", _admin_form(volume, worm=None), follow=True
    )
    assert "it cannot be made rewritable" in refused.content.decode()
    volume.refresh_from_db()
    assert volume.worm and AuditEvent.objects.filter(action="volume.update_refused").exists()
    # A new mount location moves no file: allowed, audited as an update.
    moved = client.post(f"/admin/catalog/volume/{volume.pk}/change/", _admin_form(volume, location="/srv/b"))
    assert moved.status_code == 302
    volume.refresh_from_db()
    assert (volume.location, volume.worm) == ("/srv/b", True)


def test_an_empty_worm_volume_may_still_be_made_rewritable(world: World) -> None:
    world.volume.worm = True
    world.volume.save()
    response = world.client("admin").post(
        f"/admin/catalog/volume/{world.volume.pk}/change/", _admin_form(world.volume, worm=None)
    )
    assert response.status_code == 302
    world.volume.refresh_from_db()
    assert not world.volume.worm


def test_the_apis_refuse_to_make_a_worm_volume_rewritable(world: World) -> None:
    volume = _worm_with_a_copy(world)
    client = world.client("dit")
    response = client.patch(f"/api/volumes/{volume.pk}/", {"worm": False}, format="json")
    assert response.status_code == 403 and "cannot be made rewritable" in response.json()["detail"]
    VolumeRecord.objects.create(project=world.project, volume=volume, identifier="FILM-RAID-001")
    response = client.patch(f"/api/custody-volumes/{volume.pk}/", {"worm": False}, format="json")
    assert response.status_code == 403 and "cannot be made rewritable" in response.json()["detail"]
    volume.refresh_from_db()
    assert volume.worm
    assert AuditEvent.objects.filter(action="volume.update_refused", actor_name="dit").count() == 2


def test_the_custody_edit_page_refuses_it_with_the_reason(world: World) -> None:
    volume = _worm_with_a_copy(world)
    VolumeRecord.objects.create(project=world.project, volume=volume, identifier="FILM-RAID-001")
    form = {"identifier": "FILM-RAID-001", "label": "RAID-A", "tier": "hot", "location": "/nowhere"}
    response = world.client("dit").post(f"/volumes/{volume.pk}/edit/", form)  # "worm" unchecked
    assert response.status_code == 200 and "it cannot be made rewritable" in response.content.decode()
    volume.refresh_from_db()
    assert volume.worm and volume.location != "/nowhere"
    assert AuditEvent.objects.filter(action="volume.update_refused").exists()
