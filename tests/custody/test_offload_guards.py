"""The only second copy never lands on a dying disk, nor on another volume's drive.

Offload (page, API, command) refuses a failing destination, asks for a
recorded confirmation for a warning one, and refuses a folder whose identity
file says it is another volume. A restore reads from a failing drive only
when nothing better is left.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from catalog.models import AuditEvent, Volume
from custody import services as custody
from custody.identity import IDENTITY_FILE
from ingest.models import OffloadJob
from tests.fixtures import World
from tests.ingest.conftest import write_card

CARD = {"A001C001_261102_R1AB.mov": b"m" * 50_000, "A001C002_261102_R1AB.mov": b"n" * 20_000}


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    root = tmp_path / "cards"
    write_card(root / "A001", CARD)
    return root


def _raid(world: World, root: Path, label: str, health: str) -> Volume:
    root.mkdir(parents=True, exist_ok=True)
    return Volume.objects.create(
        project=world.project,
        label=label,
        kind=Volume.Kind.RAID,
        host=settings.REELVAULT_HOSTNAME,
        location=str(root),
        health=health,
    )


def _api_offload(world: World, cards: Path, *destinations: str, **extra: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A001"), "destinations": list(destinations), **extra},
            format="json",
        )
    return response.status_code, response.json()


def test_api_refuses_a_failing_destination(world: World, cards: Path, tmp_path: Path) -> None:
    _raid(world, tmp_path / "raid", "RAID-01", Volume.Health.FAILING)
    _raid(world, tmp_path / "shuttle", "SH-01", Volume.Health.HEALTHY)

    status, body = _api_offload(world, cards, "RAID-01", "SH-01", confirm_warning=True)

    assert status == 400
    assert "RAID-01: the drive health is failing" in body["detail"]
    assert not OffloadJob.objects.exists()
    assert not (tmp_path / "raid" / "A001").exists()


def test_api_asks_confirmation_for_a_warning_destination_and_records_it(
    world: World, cards: Path, tmp_path: Path
) -> None:
    _raid(world, tmp_path / "raid", "RAID-01", Volume.Health.WARNING)

    status, body = _api_offload(world, cards, "RAID-01")
    assert status == 400 and "Confirm to write to it anyway" in body["detail"]
    assert not OffloadJob.objects.exists()

    status, body = _api_offload(world, cards, "RAID-01", confirm_warning=True)
    assert status == 201
    assert body["health_confirmations"] == ["RAID-01: health warning, written to on confirmation"]
    job = OffloadJob.objects.get()
    assert job.health_confirmations == body["health_confirmations"]
    event = AuditEvent.objects.filter(action="offload.create").get()
    assert event.after["health_confirmed"] == job.health_confirmations
    assert event.actor == world.users["dit"]


def test_page_form_shows_health_and_needs_the_confirmation_box(
    world: World, cards: Path, tmp_path: Path
) -> None:
    raid = _raid(world, tmp_path / "raid", "RAID-01", Volume.Health.WARNING)
    client = world.client("dit")
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        page = client.get("/p/FILM/offloads/new/")
        assert "RAID-01 (RAID) — drive health warning" in page.content.decode()
        form = {"source": str(cards / "A001"), "destinations": [raid.pk]}
        refused = client.post("/p/FILM/offloads/new/", form)
        assert refused.status_code == 200
        assert "Confirm to write to it anyway" in refused.content.decode()
        accepted = client.post("/p/FILM/offloads/new/", {**form, "confirm_warning": "on"})
    job = OffloadJob.objects.get()
    assert accepted.status_code == 302 and accepted["Location"] == f"/offloads/{job.pk}/"
    detail = client.get(f"/offloads/{job.pk}/").content.decode()
    assert "Confirmed by the DIT: RAID-01: health warning, written to on confirmation" in detail


def _command(*args: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = 0
    try:
        call_command("offload", *args, "--json", stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def test_command_refuses_failing_and_writes_to_warning_only_when_confirmed(
    world: World, cards: Path, tmp_path: Path
) -> None:
    _raid(world, tmp_path / "bad", "RAID-BAD", Volume.Health.FAILING)
    _raid(world, tmp_path / "tired", "RAID-TIRED", Volume.Health.WARNING)
    source = str(cards / "A001")

    with pytest.raises(CommandError, match="RAID-BAD: the drive health is failing"):
        _command("--project", "FILM", "--source", source, "--dest", "RAID-BAD", "--confirm-warning")
    with pytest.raises(CommandError, match="RAID-TIRED: the drive health is warning"):
        _command("--project", "FILM", "--source", source, "--dest", "RAID-TIRED")
    assert not any((tmp_path / name / "A001").exists() for name in ("bad", "tired"))

    _, summary = _command(
        "--project", "FILM", "--source", source, "--dest", "RAID-TIRED", "--confirm-warning"
    )
    # One copy is not enough to format the card (the policy wants two), but it was written and verified.
    assert summary["destinations"]["RAID-TIRED"]["state"] == "ok"  # type: ignore[index]
    assert OffloadJob.objects.get().health_confirmations == [
        "RAID-TIRED: health warning, written to on confirmation"
    ]
    assert (tmp_path / "tired" / "A001" / "A001C001_261102_R1AB.mov").read_bytes() == CARD[
        "A001C001_261102_R1AB.mov"
    ]


def test_a_queued_offload_whose_destination_turned_failing_fails_before_writing(
    world: World, cards: Path, tmp_path: Path
) -> None:
    raid = _raid(world, tmp_path / "raid", "RAID-01", Volume.Health.HEALTHY)
    _raid(world, tmp_path / "shuttle", "SH-01", Volume.Health.HEALTHY)
    status, body = _api_offload(world, cards, "RAID-01", "SH-01")
    assert status == 201
    Volume.objects.filter(pk=raid.pk).update(health=Volume.Health.FAILING)

    from ingest.services import offload_job_run  # the worker's entry point, run here

    job = offload_job_run(job_id=body["id"])

    assert job is not None and job.state == OffloadJob.State.FAILED
    assert "RAID-01: the drive health is failing" in job.error
    assert not (tmp_path / "raid" / "A001").exists() and not (tmp_path / "shuttle" / "A001").exists()


def test_another_volumes_drive_mounted_at_the_destination_is_refused(
    world: World, cards: Path, tmp_path: Path
) -> None:
    (tmp_path / "raid").mkdir()
    (tmp_path / "other").mkdir()
    mine = custody.volume_record_register(
        actor=None,
        project=world.project,
        kind=Volume.Kind.RAID,
        location=str(tmp_path / "raid"),
        host=settings.REELVAULT_HOSTNAME,
    )
    other_root = tmp_path / "other"
    other = custody.volume_record_register(
        actor=None,
        project=world.project,
        kind=Volume.Kind.SHUTTLE,
        location=str(other_root),
        host=settings.REELVAULT_HOSTNAME,
    )
    # Someone unplugged the RAID and mounted the shuttle at the RAID's path.
    shutil.copy(other_root / IDENTITY_FILE, tmp_path / "raid" / IDENTITY_FILE)

    status, body = _api_offload(world, cards, mine.volume.label)

    assert status == 400
    assert f"is the drive {other.identifier}" in body["detail"]
    assert f"not {mine.identifier}" in body["detail"]
    assert not OffloadJob.objects.exists()
    assert not (tmp_path / "raid" / "A001").exists()
