"""Drill schedules per scenario: set them (page, command), beat starts the due ones, results per scenario."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert
from catalog.models import AuditEvent, Copy, MediaFile, Volume
from restore.models import DrillSchedule, RestoreDrill, RestoreTarget
from restore.tasks import restore_drills_due_task
from tests.fixtures import PERSONAS, ClipFactory, ShootDayFactory, VolumeFactory
from tests.restore.conftest import MTIME, Media, Workers, wait_for, xxh128_bytes


def second_day(media: Media) -> MediaFile:
    """Day 2 with one clip whose file is on the RAID and the shuttle."""
    day = ShootDayFactory(project=media.world.project, number=2)
    clip = ClipFactory(project=media.world.project, day=day, card=media.card, scene="50", name="A002C001_X")
    data = os.urandom(40_000)
    relpath = f"{clip.name}/{clip.name}_0.mov"
    media_file = MediaFile.objects.create(
        clip=clip,
        card=media.card,
        relative_path=relpath,
        size=len(data),
        mtime=MTIME,
        xxh128=xxh128_bytes(data),
    )
    for volume in (media.raid, media.shuttle):
        path = Path(volume.location) / media.card.label / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=f"{media.card.label}/{relpath}",
            state=Copy.State.VERIFIED,
            hash_found=media_file.xxh128,
            verified_at=MTIME,
        )
    return media_file


def finish_running() -> None:
    RestoreDrill.objects.filter(state="running").update(state="passed", finished_at=timezone.now())


def test_each_scenario_schedule_starts_its_own_drills_when_due(
    media: Media, capsys: pytest.CaptureFixture[str]
) -> None:
    second_day(media)
    call_command("restore_drill", "FILM", "--schedule", "168", "--scenario", "card_corruption")
    call_command(
        "restore_drill",
        "FILM",
        "--schedule",
        "720",
        "--scenario",
        "tier_loss",
        "--tier",
        "hot",
        "--day-rule",
        "rotate",
    )
    out = capsys.readouterr().out
    assert "Card corruption (first copy unreadable) drills of FILM: every week" in out
    assert "Loss of a tier or site drills of FILM: every 30 days" in out
    card, tier = DrillSchedule.objects.order_by("pk")
    # One drill at a time per project: the second due schedule waits for the next pass.
    restore_drills_due_task()
    first = RestoreDrill.objects.get()
    assert (first.schedule, first.scenario, first.trigger) == (card, "card_corruption", "schedule")
    assert "card A001" in first.lost
    restore_drills_due_task()
    assert RestoreDrill.objects.count() == 1
    finish_running()
    restore_drills_due_task()
    second = RestoreDrill.objects.exclude(pk=first.pk).get()
    assert (second.schedule, second.scenario, second.day.number) == (tier, "tier_loss", 1)
    assert second.lost == "the hot (online disk) tier (RAID-A), day 1"
    assert second.request.excluded_volume_ids == sorted([media.raid.pk, media.card.pk])
    finish_running()
    # Neither is due again within its interval.
    assert restore_drills_due_task() is None and RestoreDrill.objects.count() == 2
    # A week on, the card drill is due, the monthly one is not; a month on, "rotate" takes day 2.
    week = timezone.now() + timedelta(days=8)
    from restore.services import restore_drills_due

    assert [RestoreDrill.objects.get(pk=pk).scenario for pk in restore_drills_due(now=week)] == [
        "card_corruption"
    ]
    finish_running()
    month = timezone.now() + timedelta(days=31)
    started = restore_drills_due(now=month, rng=random.Random(1))
    finish_running()
    started += restore_drills_due(now=month, rng=random.Random(1))
    days = [RestoreDrill.objects.get(pk=pk).day for pk in started]
    assert [d.number for d in days if d is not None] == [2]


def test_a_scheduled_drill_that_cannot_start_says_why_and_warns(media: Media) -> None:
    call_command("restore_drill", "FILM", "--schedule", "24", "--scenario", "tier_loss", "--tier", "cold")
    restore_drills_due_task()
    schedule = DrillSchedule.objects.get()
    assert schedule.last_error == "project FILM has no volume in the cold (archive) tier"
    alert = Alert.objects.get(kind="restore.drill_not_started")
    assert alert.severity == "warning" and "Loss of a tier or site, cold" in alert.title
    restore_drills_due_task()  # the same reason again: still one alert, one occurrence
    assert Alert.objects.get(pk=alert.pk).occurrences == 1
    VolumeFactory(
        project=media.world.project, label="VAULT-1", kind=Volume.Kind.SHUTTLE, tier=Volume.Tier.COLD
    )
    restore_drills_due_task()
    schedule.refresh_from_db()
    assert schedule.last_error == "" and RestoreDrill.objects.get().schedule == schedule
    assert Alert.objects.get(pk=alert.pk).state == "resolved"
    page = media.world.client("viewer").get("/p/FILM/drills/").content.decode()
    assert "Loss of a tier or site" in page and "Cold (archive)" in page


def test_a_bad_schedule_is_refused_with_the_reason(media: Media) -> None:
    client = media.world.client("producer")
    response = client.post(
        "/p/FILM/drills/schedule/", {"scenario": "tier_loss", "every": "1", "unit": "weeks"}
    )
    assert response.status_code == 302
    assert not DrillSchedule.objects.exists()
    page = client.get("/p/FILM/drills/").content.decode()
    assert "a loss-of-tier schedule needs the tier (hot, warm, cold) or the site (host) lost" in page


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_for_setting_a_drill_schedule(media: Media, persona: str) -> None:
    client = media.world.client(persona)
    form = {"scenario": "local_failure", "day_rule": "random", "every": "4", "unit": "weeks", "enabled": "on"}
    response = client.post("/p/FILM/drills/schedule/", form)
    saved = AuditEvent.objects.filter(action="restore.drill_schedule").count()
    refused = AuditEvent.objects.filter(action="restore.drill_schedule_refused").count()
    if persona in ("admin", "producer"):
        assert response.status_code == 302
        schedule = DrillSchedule.objects.get()
        assert (schedule.scenario, schedule.day_rule, schedule.interval_hours) == (
            "local_failure",
            "random",
            672,
        )
        assert (saved, refused) == (1, 0)
        page = client.get("/p/FILM/drills/").content.decode()
        assert "every 4 weeks" in page and "A random shoot day" in page
    elif persona == "outsider":
        assert response.status_code == 404 and not DrillSchedule.objects.exists()
        assert (saved, refused) == (0, 0)
    else:
        assert response.status_code == 403 and not DrillSchedule.objects.exists()
        assert (saved, refused) == (0, 1)


def test_a_scheduled_scenario_drill_runs_where_its_copies_are_and_an_over_time_one_warns(
    media: Media, workers: Workers
) -> None:
    # The runbook thinks the warm tier restores at 1 TB/s (an earlier sample drill said so).
    RestoreDrill.objects.create(
        project=media.world.project, tier="warm", state="passed", mb_per_second=1_000_000, seconds=1
    )
    call_command("restore_drill", "FILM", "--schedule", "168", "--scenario", "tier_loss", "--tier", "hot")
    workers.start()
    restore_drills_due_task()
    drill = RestoreDrill.objects.get(scenario="tier_loss")
    wait_for(
        lambda: RestoreDrill.objects.get(pk=drill.pk).state != "running",
        timeout=90,
        message=f"drill {drill.pk}\n{workers.logs()}",
    )
    drill.refresh_from_db()
    assert drill.state == "passed" and drill.over_time, drill.error
    assert drill.request.host == media.host and drill.per_tier["warm"]["files"] == len(media.files)
    alert = Alert.objects.get(kind="restore.drill_over_time")
    assert "took longer than the runbook says" in alert.title
    page = media.world.client("viewer").get("/p/FILM/drills/").content.decode()
    assert "Per scenario" in page and "(over time)" in page
    trends = media.world.client("viewer").get("/p/FILM/trends/").content.decode()
    assert "Drills passed, per scenario" in trends and "Loss of a tier or site" in trends


def test_a_scenario_drill_job_goes_to_the_host_of_the_copies_that_remain(
    media: Media, django_capture_on_commit_callbacks: object
) -> None:
    Volume.objects.filter(pk=media.shuttle.pk).update(host="zz-cart-2")
    RestoreTarget.objects.filter(project=media.world.project).update(host="")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = media.world.client("dit").post(
            "/api/drills/", {"project": "FILM", "scenario": "tier_loss", "tier": "hot"}, format="json"
        )
    assert response.status_code == 201, response.content
    drill = RestoreDrill.objects.select_related("request").get()
    # The RAID (the lost tier) holds as many bytes on its host, which sorts first,
    # but the drill reads the shuttle.
    assert drill.request.state == "queued" and drill.request.host == "zz-cart-2"
