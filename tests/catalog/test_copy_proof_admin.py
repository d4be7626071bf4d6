"""A verified copy can only come from a proof (issue 12, point 1).

Through the Django admin a project admin could add a MediaFile with any path
and hash, and a Copy on another project's volume. Now: files and copies are
read-only there, every form's choices are the user's projects' rows (raw id
fields included), one row cannot mix projects, and the database refuses a
copy whose volume and file belong to different projects, whatever writes it.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Clip, Copy, MediaFile, Membership, Volume
from tests.fixtures import ClipFactory, ShootDayFactory, VolumeFactory, World

pytestmark = pytest.mark.django_db

HASH = "0" * 31 + "1"


def _file(world: World, project_clip: Clip, card: Volume, path: str = "A001/clip.mov") -> MediaFile:
    return MediaFile.objects.create(clip=project_clip, card=card, relative_path=path, size=10, xxh128=HASH)


@pytest.fixture
def other_volume(world: World) -> Volume:
    return VolumeFactory(project=world.other_project, label="RAID-OTHER")


def test_the_database_refuses_a_copy_on_another_projects_volume(world: World, other_volume: Volume) -> None:
    media_file = _file(world, world.clip, VolumeFactory(project=world.project, kind=Volume.Kind.CARD))
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        Copy.objects.create(
            media_file=media_file,
            volume=other_volume,
            path="x",
            state=Copy.State.VERIFIED,
            hash_found=HASH,
            verified_at=timezone.now(),
        )
    # Nor through the one writer, with a proof.
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        copies_record(
            actor=None,
            volume=other_volume,
            checks=[CopyCheck(media_file=media_file, path="x", found=Found.PROVEN, hash_found=HASH)],
            source="a test",
        )
    # Moving a good copy onto another project's volume is refused too.
    copy = Copy.objects.create(media_file=media_file, volume=world.volume, path="x")
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        Copy.objects.filter(pk=copy.pk).update(volume=other_volume)
    assert not Copy.objects.filter(volume=other_volume).exists()


def test_the_database_keeps_a_file_its_clip_its_card_and_its_copies_in_one_project(
    world: World, other_volume: Volume
) -> None:
    card = VolumeFactory(project=world.project, kind=Volume.Kind.CARD)
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        _file(world, world.other_clip, card)  # a clip of OTHER, a card of FILM
    media_file = _file(world, world.clip, card)
    Copy.objects.create(media_file=media_file, volume=world.volume, path="x")
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        MediaFile.objects.filter(pk=media_file.pk).update(clip=world.other_clip, card=None)
    with pytest.raises(IntegrityError, match="copy_same_project"), transaction.atomic():
        Volume.objects.filter(pk=world.volume.pk).update(project=world.other_project)


def test_files_and_copies_are_read_only_in_the_admin(world: World) -> None:
    admin = world.client("admin")
    media_file = _file(world, world.clip, VolumeFactory(project=world.project, kind=Volume.Kind.CARD))
    assert admin.get("/admin/catalog/mediafile/add/").status_code == 403
    response = admin.post(
        "/admin/catalog/mediafile/add/",
        {"clip": world.clip.pk, "relative_path": "../../../../x", "size": 1, "xxh128": HASH},
    )
    assert response.status_code == 403
    page = admin.get(f"/admin/catalog/mediafile/{media_file.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="relative_path"' not in body and 'name="xxh128"' not in body and "A001/clip.mov" in body
    changed = admin.post(f"/admin/catalog/mediafile/{media_file.pk}/change/", {"relative_path": "../x"})
    assert changed.status_code == 403
    assert admin.get("/admin/catalog/copy/add/").status_code == 403
    media_file.refresh_from_db()
    assert media_file.relative_path == "A001/clip.mov"


def test_admin_choices_are_the_users_projects_rows(world: World, other_volume: Volume) -> None:
    admin = world.client("admin")
    other_day = ShootDayFactory(project=world.other_project, number=7)
    # A drop-down lists only this project's rows...
    page = admin.get("/admin/catalog/volume/add/").content.decode()
    assert "FILM" in page and "OTHER" not in page
    # ...and a raw id field accepts no other project's row, even typed in.
    for field, value in (("card", other_volume.pk), ("day", other_day.pk)):
        response = admin.post(
            "/admin/catalog/clip/add/",
            {"project": world.project.pk, "name": f"A009C00{value}_X", field: value, "cast": ""},
        )
        assert response.status_code == 200  # the form again, with the error
        assert "Select a valid choice" in response.content.decode()
    assert not Clip.objects.filter(name__startswith="A009C").exists()


def test_a_member_of_two_projects_cannot_mix_them_in_one_row(world: World, other_volume: Volume) -> None:
    Membership.objects.create(user=world.users["admin"], project=world.other_project, role_id="admin")
    response = world.client("admin").post(
        "/admin/catalog/clip/add/",
        {"project": world.project.pk, "name": "A009C001_X", "card": other_volume.pk, "cast": ""},
    )
    assert response.status_code == 200
    assert "belong to different projects" in response.content.decode()
    assert not Clip.objects.filter(name="A009C001_X").exists()
    # The same admin may add a clip of OTHER on OTHER's card.
    ok = world.client("admin").post(
        "/admin/catalog/clip/add/",
        {"project": world.other_project.pk, "name": "A009C002_X", "card": other_volume.pk, "cast": ""},
    )
    assert ok.status_code == 302, ok.content.decode()[:3000]
    assert ClipFactory._meta.model.objects.filter(name="A009C002_X", card=other_volume).exists()
