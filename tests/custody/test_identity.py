"""The identity file: a drive is recognised at another path, and another volume's drive is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from custody import services
from custody.identity import IDENTITY_FILE
from custody.models import VolumeRecord
from custody.selectors import VolumeIdentityError, volume_identity_check, volume_identity_find
from tests.fixtures import World


def _register(world: World, root: Path, kind: str = "shuttle") -> VolumeRecord:
    return services.volume_record_register(
        actor=world.users["dit"],
        project=world.project,
        kind=kind,
        location=str(root),
        host=settings.REELVAULT_HOSTNAME,
    )


def test_the_drive_at_its_own_path_matches(world: World, drive: Path) -> None:
    record = _register(world, drive)

    check = volume_identity_check(volume=record.volume)

    assert (check.found, check.moved) == (True, False)


def test_the_drive_is_recognised_at_another_path(world: World, drive: Path, tmp_path: Path) -> None:
    record = _register(world, drive)
    elsewhere = tmp_path / "media" / "dit" / "SHUTTLE"
    shutil.copytree(drive, elsewhere)  # the same drive, mounted on another cart

    check = volume_identity_check(volume=record.volume, path=str(elsewhere))

    assert (check.found, check.moved) == (True, True)
    assert volume_identity_find(path=str(elsewhere)) == record.volume


def test_a_destination_that_is_another_volume_is_refused(world: World, tmp_path: Path) -> None:
    first_root, second_root = tmp_path / "a", tmp_path / "b"
    first_root.mkdir()
    second_root.mkdir()
    first, second = _register(world, first_root), _register(world, second_root)

    with pytest.raises(
        VolumeIdentityError, match=f"is the drive {second.identifier}.*not {first.identifier}"
    ):
        volume_identity_check(volume=first.volume, path=str(second_root))


def test_an_unlabelled_drive_is_not_refused(world: World, drive: Path) -> None:
    record = _register(world, drive)
    (drive / IDENTITY_FILE).unlink()

    assert volume_identity_check(volume=record.volume).found is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"uuid": "6f1c2a4e-0000-4000-8000-000000000000", "identifier": "X-1"}', "unknown to this catalog"),
        ("not json", "not a Reelvault identity file"),
    ],
)
def test_an_unknown_or_broken_identity_is_refused(
    world: World, drive: Path, content: str, message: str
) -> None:
    record = _register(world, drive)
    (drive / IDENTITY_FILE).write_text(content)

    with pytest.raises(VolumeIdentityError, match=message):
        volume_identity_check(volume=record.volume)


def test_two_hosts_claiming_one_identity_the_second_registration_is_refused(
    world: World, drive: Path
) -> None:
    _register(world, drive)

    with pytest.raises(services.CustodyError, match="already registered as FILM-SH-001"):
        _register(world, drive, kind="raid")


def test_moving_a_volume_writes_its_identity_at_the_new_mount(
    world: World, drive: Path, tmp_path: Path
) -> None:
    record = _register(world, drive)
    new_root = tmp_path / "remounted"
    new_root.mkdir()

    services.volume_record_update(
        actor=world.users["dit"], record=record, changes={"location": str(new_root)}
    )

    record.refresh_from_db()
    assert volume_identity_check(volume=record.volume).found is True
