"""The DIT's offload screen, presets, shoot days, folder templates, the host queue, pause and resume.

Through the pages, the API and the service entry point the worker and the
command call (``offload_job_run``), checking what a person sees and what the
database and the destinations hold.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from catalog.models import AuditEvent, Copy, ShootDay, Volume
from ingest import services
from ingest.models import OffloadJob, OffloadPreset
from tests.fixtures import PERSONAS, World, local_volumes
from tests.ingest.conftest import write_card

INGEST = {"admin", "dit"}
MEMBERS = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}


def expected_status(persona: str, allowed_status: int) -> int:
    if persona in INGEST:
        return allowed_status
    return 404 if persona == "outsider" else 403


@pytest.fixture
def dit_world(world: World, tmp_path: Path, settings: object) -> tuple[World, Path, list[Volume]]:
    cards = tmp_path / "cards"
    write_card(
        cards / "A004",
        {
            "XDROOT/Clip/A004C001_261102AB.MXF": os.urandom(300_000),
            "XDROOT/Clip/A004C001_261102ABM01.XML": b"<xml/>",
            "XDROOT/Clip/A004C002_261102AB.MXF": os.urandom(200_000),
        },
    )
    settings.REELVAULT_INGEST_ROOTS = [cards]  # type: ignore[attr-defined]
    dests = local_volumes(world.project, tmp_path)
    ShootDay.objects.create(project=world.project, number=3, date=dt.date(2026, 11, 1))
    ShootDay.objects.create(project=world.project, number=4, date=dt.date(2026, 11, 2))
    return world, cards, dests


def preset_for(
    world: World, dests: list[Volume], template: str = "{project}/Day{day:03}/{camera}/{card}"
) -> None:
    preset = OffloadPreset.objects.create(project=world.project, folder_template=template, algorithms=["md5"])
    preset.destinations.set(dests)


# --- role matrix ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_offload_screen_shows_every_member_the_cards_and_only_dits_the_buttons(
    dit_world: tuple[World, Path, list[Volume]], persona: str
) -> None:
    world, _, dests = dit_world
    preset_for(world, dests)
    response = world.client(persona).get("/p/FILM/offload/")
    assert response.status_code == (200 if persona in MEMBERS else 404)
    if persona not in MEMBERS:
        return
    page = response.content.decode()
    assert "A004" in page and "Sony XDCAM" in page and "3 files" in page
    assert "500.0 KB" in page  # 300,000 + 200,000 + 6 bytes, in human units
    assert "Day 4" in page  # from the clip names' date, 2 Nov 2026
    assert ("Offload A004 with the preset" in page) == (persona in INGEST)
    assert "{'" not in page and "T00:00" not in page


@pytest.mark.parametrize("persona", PERSONAS)
def test_starting_from_the_screen(dit_world: tuple[World, Path, list[Volume]], persona: str) -> None:
    world, cards, dests = dit_world
    preset_for(world, dests)
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = world.client(persona).post("/p/FILM/offload/start/", {"source": str(cards / "A004")})
    assert response.status_code == expected_status(persona, 302)
    created = OffloadJob.objects.filter(label="A004").first()
    assert (created is not None) == (persona in INGEST)
    actions = set(AuditEvent.objects.filter(id__gt=last_id).values_list("action", flat=True))
    if persona in INGEST:
        assert created is not None and created.folder == "FILM/Day004/A/A004" and created.day is not None
        assert created.day.number == 4 and "offload.create" in actions
    elif persona != "outsider":
        assert actions == {"offload.create_refused"}
    else:
        assert actions == set()


@pytest.mark.parametrize("persona", PERSONAS)
def test_editing_the_preset(dit_world: tuple[World, Path, list[Volume]], persona: str) -> None:
    world, _, dests = dit_world
    client = world.client(persona)
    assert client.get("/p/FILM/offload/preset/").status_code == expected_status(persona, 200)
    response = client.post(
        "/p/FILM/offload/preset/",
        {
            "destinations": [dests[0].pk, dests[1].pk],
            "sha1": "on",
            "folder_template": "{project}/Day{day:03}/{card}",
            "day_rule": "current",
            "auto_start": "on",
        },
    )
    assert response.status_code == expected_status(persona, 302)
    preset = OffloadPreset.objects.filter(project=world.project).first()
    assert (preset is not None) == (persona in INGEST)
    if preset is not None:
        assert (preset.algorithms, preset.day_rule, preset.auto_start) == (["sha1"], "current", True)
        assert AuditEvent.objects.filter(action="offload_preset.save", actor_name=persona).exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_pausing_and_resuming(dit_world: tuple[World, Path, list[Volume]], persona: str) -> None:
    world, cards, dests = dit_world
    job = services.offload_job_create(
        actor=world.users["dit"],
        project=world.project,
        source=cards / "A004",
        destinations=dests,
        enqueue=False,
    )
    client = world.client(persona)
    paused = client.post(f"/api/offloads/{job.pk}/pause/")
    assert paused.status_code == expected_status(persona, 200)
    job.refresh_from_db()
    assert job.state == (OffloadJob.State.PAUSED if persona in INGEST else OffloadJob.State.QUEUED)
    resumed = client.post(f"/offloads/{job.pk}/resume/")
    assert resumed.status_code == expected_status(persona, 302)
    job.refresh_from_db()
    assert job.state == OffloadJob.State.QUEUED
    refused = set(AuditEvent.objects.filter(actor_name=persona).values_list("action", flat=True))
    if persona in INGEST:
        assert {"offload.pause", "offload.resume"} <= refused
    elif persona != "outsider":
        assert {"offload.pause_refused", "offload.resume_refused"} <= refused


# --- preset page: template validation -------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("../../etc/{card}", "climb out"),
        ("/srv/raid/{card}", "absolute path"),
        ("{project}/{reel}/{card}", "unknown field {reel}"),
        ("{project}/Day{day}", "must contain {card}"),
        ("{card.__init__.__globals__}", "unknown field"),
    ],
)
def test_the_preset_page_refuses_a_bad_folder_template_and_says_why(
    dit_world: tuple[World, Path, list[Volume]], template: str, message: str
) -> None:
    world, _, dests = dit_world
    response = world.client("dit").post(
        "/p/FILM/offload/preset/",
        {"destinations": [dests[0].pk], "folder_template": template, "day_rule": "recorded"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not OffloadPreset.objects.exists()


# --- shoot day rule ---------------------------------------------------------------------


def test_the_api_puts_a_card_on_the_day_it_was_recorded(dit_world: tuple[World, Path, list[Volume]]) -> None:
    world, cards, _ = dit_world
    response = world.client("dit").post(
        "/api/offloads/",
        {"project": "FILM", "source": str(cards / "A004"), "destinations": ["RAID-1"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["day"] == 4


def test_the_current_day_rule_takes_the_latest_day_up_to_today(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    preset_for(world, dests)
    OffloadPreset.objects.update(day_rule="current")
    today = timezone.localdate()
    ShootDay.objects.create(project=world.project, number=9, date=today)
    ShootDay.objects.create(project=world.project, number=10, date=today + dt.timedelta(days=1))
    job = services.offload_job_create(
        actor=None, project=world.project, source=cards / "A004", destinations=dests, enqueue=False
    )
    assert job.day is not None and job.day.number == 9


def test_a_project_without_days_gets_day_one_on_its_first_offload(
    world: World, tmp_path: Path, settings: object
) -> None:
    cards = tmp_path / "cards"
    write_card(cards / "CARD1", {"clip.mov": b"x" * 1000})
    settings.REELVAULT_INGEST_ROOTS = [cards]  # type: ignore[attr-defined]
    (tmp_path / "raid").mkdir()
    raid = Volume.objects.create(
        project=world.project, label="R", kind=Volume.Kind.RAID, location=str(tmp_path / "raid"), host="h"
    )
    job = services.offload_job_create(
        actor=None, project=world.project, source=cards / "CARD1", destinations=[raid], enqueue=False
    )
    assert job.day is not None and job.day.number == 1
    assert AuditEvent.objects.filter(action="shootday.create").count() == 1


# --- folder template, queue, pause and resume when running ----------------------------


def test_an_offload_lands_in_the_template_folder_and_the_catalog_knows_it(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    preset_for(world, dests)
    job = services.offload_job_create(
        actor=None, project=world.project, source=cards / "A004", destinations=dests, enqueue=False
    )
    finished = services.offload_job_run(job_id=job.pk)
    assert finished is not None and finished.state == OffloadJob.State.COMPLETED, finished.summary
    for volume in dests:
        landed = Path(volume.location) / "FILM/Day004/A/A004"
        assert (landed / "XDROOT/Clip/A004C001_261102AB.MXF").is_file()
        assert (landed / "ascmhl").is_dir()
    paths = set(Copy.objects.filter(volume=dests[0], state="verified").values_list("path", flat=True))
    assert "FILM/Day004/A/A004/XDROOT/Clip/A004C002_261102AB.MXF" in paths
    assert set(finished.destination_progress) == {"RAID-1", "SHUTTLE-1"}
    page = world.client("dit").get(f"/offloads/{job.pk}/").content.decode()
    assert "Open the transfer report" in page and "FILM/Day004/A/A004" in page


def test_a_second_offload_on_the_host_waits_for_the_first(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    write_card(cards / "B001", {"B001C001_261102_R2CD.mov": b"y" * 5000})
    first = services.offload_job_create(
        actor=None, project=world.project, source=cards / "A004", destinations=dests, enqueue=False
    )
    second = services.offload_job_create(
        actor=None, project=world.project, source=cards / "B001", destinations=dests, enqueue=False
    )
    OffloadJob.objects.filter(pk=first.pk).update(state="running", heartbeat_at=timezone.now())
    assert services.offload_job_run(job_id=second.pk) is None  # refused: the host is busy
    second.refresh_from_db()
    assert second.state == OffloadJob.State.QUEUED
    page = world.client("dit").get("/p/FILM/offload/").content.decode()
    assert "B001</a> — Queued (position 2)" in page
    OffloadJob.objects.filter(pk=first.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    finished = services.offload_job_run(job_id=second.pk)  # the first one's runner is dead: no longer blocks
    assert finished is not None and finished.state == OffloadJob.State.COMPLETED


@override_settings(REELVAULT_OFFLOAD_BATCH_MB=1)
def test_pause_stops_between_batches_and_resume_does_not_copy_verified_files_again(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    sizes = 1_500_000  # > one 1 MiB batch each: every file is a batch of its own
    card = write_card(
        cards / "C001", {f"C001C00{i}_261102_R3EF.mov": os.urandom(sizes + i) for i in range(1, 6)}
    )
    job = services.offload_job_create(
        actor=world.users["dit"], project=world.project, source=card, destinations=dests, enqueue=False
    )

    def pause_after_first_file(snapshot: object) -> None:
        if getattr(snapshot, "files_done", 0) >= 1 and not OffloadJob.objects.get(pk=job.pk).pause_requested:
            if OffloadJob.objects.get(pk=job.pk).state == OffloadJob.State.RUNNING:
                services.offload_job_pause(actor=world.users["dit"], job=job)

    paused = services.offload_job_run(job_id=job.pk, on_progress=pause_after_first_file)
    assert paused is not None and paused.state == OffloadJob.State.PAUSED, paused and paused.summary
    assert paused.heartbeat_at is None and not paused.pause_requested
    raid = Path(dests[0].location) / "C001"
    copied = {p.name: p.stat().st_ino for p in raid.glob("*.mov")}
    assert 1 <= len(copied) < 5, copied  # stopped part-way, between files
    assert not list(raid.rglob("*.reelvault-partial"))
    verified_before = Copy.objects.filter(volume=dests[0], state="verified").count()
    assert verified_before == len(copied)
    page = world.client("dit").get("/p/FILM/offload/").content.decode()
    assert "C001</a> — Paused" in page and "Resume" in page

    services.offload_job_resume(actor=world.users["dit"], job=job)
    done = services.offload_job_run(job_id=job.pk)
    assert done is not None and done.state == OffloadJob.State.COMPLETED, done.summary
    assert {
        p.name: p.stat().st_ino for p in raid.glob("*.mov") if p.name in copied
    } == copied  # not rewritten
    written = done.summary["destinations"]["RAID-1"]["bytes_written"]
    assert written == sum(sizes + i for i in range(1, 6) if f"C001C00{i}_261102_R3EF.mov" not in copied)
    assert Copy.objects.filter(volume=dests[0], state="verified").count() == 5
    assert settings.REELVAULT_OFFLOAD_BATCH_MB == 1


def test_choose_destinations_opens_the_form_with_the_card_and_the_preset_filled_in(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    preset_for(world, dests[:1])
    page = world.client("dit").get("/p/FILM/offloads/new/", {"source": str(cards / "A004")}).content.decode()
    assert f'<option value="{cards / "A004"}" selected>' in page
    assert f'value="{dests[0].pk}"' in page and "checked" in page
    assert "Left empty: the day the card was recorded" in page


def test_the_offload_command_follows_the_same_day_rule_and_folder_template(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    from tests.ingest.test_offload_command import run_offload

    world, cards, dests = dit_world
    preset_for(world, dests, template="{project}/{date:%Y%m%d}/{card}")
    source = str(cards / "A004")
    code, summary, _ = run_offload(
        "--project", "FILM", "--source", source, "--dest", "RAID-1", "--dest", "SHUTTLE-1"
    )
    assert code == 0, summary
    job = OffloadJob.objects.get(pk=summary["job"])
    assert job.day is not None and job.day.number == 4  # recorded 2 Nov 2026, no --day given
    assert (Path(dests[0].location) / "FILM/20261102/A004/XDROOT/Clip/A004C002_261102AB.MXF").is_file()


def test_the_command_says_when_its_card_waits_behind_a_running_offload(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    import io

    from django.core.management import call_command

    world, cards, dests = dit_world
    write_card(cards / "B001", {"B001C001_261102_R2CD.mov": b"y" * 5000})
    running = services.offload_job_create(
        actor=None, project=world.project, source=cards / "B001", destinations=dests, enqueue=False
    )
    OffloadJob.objects.filter(pk=running.pk).update(state="running", heartbeat_at=timezone.now())
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "offload", "--project", "FILM", "--source", str(cards / "A004"), "--dest", "RAID-1", stderr=err
        )
    assert exited.value.code == 3
    assert "another offload is running on this host: A004 is queued behind it" in err.getvalue()
    assert OffloadJob.objects.get(label="A004").state == OffloadJob.State.QUEUED


def test_a_preset_drive_in_warning_health_needs_the_dits_confirmation_on_the_screen(
    dit_world: tuple[World, Path, list[Volume]],
) -> None:
    world, cards, dests = dit_world
    preset_for(world, dests)
    Volume.objects.filter(pk=dests[1].pk).update(health=Volume.Health.WARNING)
    client = world.client("dit")
    page = client.get("/p/FILM/offload/").content.decode()
    assert "Write to SHUTTLE-1 although its drive health is warning" in page
    refused = client.post("/p/FILM/offload/start/", {"source": str(cards / "A004")}, follow=True)
    assert "SHUTTLE-1: the drive health is warning" in refused.content.decode()
    assert not OffloadJob.objects.exists()
    client.post("/p/FILM/offload/start/", {"source": str(cards / "A004"), "confirm_warning": "on"})
    job = OffloadJob.objects.get(label="A004")
    assert job.health_confirmations == ["SHUTTLE-1: health warning, written to on confirmation"]
