"""catalog.volumes: features ask about a volume's drive and custody answers (installed at startup)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.models import Volume
from catalog.volumes import VolumeIdentityError, volume_expected_offline, volume_identity_verify
from tests.fixtures import World


def test_another_drives_identity_is_refused_through_catalog(world: World, tmp_path: Path) -> None:
    raid = world.client("dit").post(
        "/api/custody-volumes/",
        {"project": "FILM", "label": "RAID-9", "kind": "raid", "location": str(tmp_path / "raid")},
        format="json",
    )
    assert raid.status_code == 201, raid.content
    volume = Volume.objects.get(project=world.project, label="RAID-9")
    volume_identity_verify(volume=volume)  # its own drive (or an unlabelled one) passes
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / ".reelvault-volume.json").write_text(
        json.dumps({"uuid": "00000000-0000-4000-8000-000000000000", "identifier": "OTHER-1"})
    )
    with pytest.raises(VolumeIdentityError, match="OTHER-1"):
        volume_identity_verify(volume=volume, path=stranger)


def test_a_volume_not_in_transit_is_not_expected_offline(world: World) -> None:
    volume = Volume.objects.create(project=world.project, label="SH-1", kind="shuttle", location="/nowhere")
    assert volume_expected_offline(volume=volume) is None
