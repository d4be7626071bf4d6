"""Safe to format is the SAFE_TO_FORMAT variant of the storage policy: copies and kinds, not off-site."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from catalog.models import Volume
from catalog.policy import card_safe_to_format
from ingest.models import OffloadJob
from tests.fixtures import World
from tests.ingest.conftest import write_card

CARD = {"A001C001_261102_R1AB.mov": os.urandom(40_000), "A001C002_261102_R1AB.mov": os.urandom(20_000)}


def offload(card: Path, *destinations: str) -> tuple[int, dict[str, object]]:
    args = ["--project", "FILM", "--source", str(card), "--json"]
    for destination in destinations:
        args += ["--dest", destination]
    out, code = io.StringIO(), 0
    try:
        call_command("offload", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def volume(world: World, label: str, kind: str, folder: Path, *, offsite: bool = False) -> str:
    folder.mkdir(parents=True)
    Volume.objects.create(
        project=world.project,
        label=label,
        kind=kind,
        location=str(folder),
        host=settings.REELVAULT_HOSTNAME,
        offsite=offsite,
    )
    return label


def test_two_copies_on_one_kind_of_media_are_not_enough_when_the_policy_asks_for_two_kinds(
    world: World, tmp_path: Path
) -> None:
    world.project.required_media_kinds, world.project.required_offsite = 2, 1
    world.project.save()
    card = write_card(tmp_path / "cards" / "A001", CARD)
    raid1 = volume(world, "RAID-1", "raid", tmp_path / "raid1")
    raid2 = volume(world, "RAID-2", "raid", tmp_path / "raid2")
    code, summary = offload(card, raid1, raid2)
    assert code == 1 and summary["safe_to_format"] is False
    failures = summary["failures"]
    assert isinstance(failures, list)
    assert "A001C001_261102_R1AB.mov: 1 of 2 kinds of media" in failures

    # A shuttle makes two kinds: safe, although no copy is off-site yet (the day's sign-off asks for that).
    shuttle = volume(world, "SHUTTLE-1", "shuttle", tmp_path / "shuttle")
    code, summary = offload(card, raid1, shuttle)
    assert code == 0 and summary["safe_to_format"] is True
    job = OffloadJob.objects.latest("id")
    assert card_safe_to_format(card_id=job.card_id).meets


def test_a_card_without_files_in_the_catalog_is_not_safe(world: World) -> None:
    card = Volume.objects.create(project=world.project, label="A009", kind="card", location="/cards/A009")
    policy = card_safe_to_format(card_id=card.pk)
    assert policy.files == 0 and not policy.meets
