"""Scenario drills (a lost tier, a corrupt card, local failure) on real files with a real worker."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management import call_command

from alerts.models import Alert
from catalog.models import AuditEvent, Copy, MediaFile
from restore.models import RestoreDrill
from tests.fixtures import ClipFactory
from tests.restore.conftest import MTIME, Media, Workers, wait_for, xxh128_bytes


def only_on_the_raid(media: Media) -> MediaFile:
    """A clip whose one file was copied to the hot RAID and nowhere else: a policy hole."""
    clip = ClipFactory(
        project=media.world.project, day=media.clips[0].day, card=media.card, scene="43", name="A001C009_X"
    )
    data = os.urandom(50_000)
    relpath = f"{clip.name}/{clip.name}_0.mov"
    media_file = MediaFile.objects.create(
        clip=clip,
        card=media.card,
        relative_path=relpath,
        size=len(data),
        mtime=MTIME,
        xxh128=xxh128_bytes(data),
    )
    path = Path(media.raid.location) / media.card.label / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    Copy.objects.create(
        media_file=media_file,
        volume=media.raid,
        path=f"{media.card.label}/{relpath}",
        state=Copy.State.VERIFIED,
        hash_found=media_file.xxh128,
        verified_at=MTIME,
    )
    return media_file


def finished(drill_id: int, workers: Workers) -> RestoreDrill:
    wait_for(
        lambda: RestoreDrill.objects.get(pk=drill_id).state != "running",
        timeout=90,
        message=f"drill {drill_id}\n{workers.logs()}",
    )
    return RestoreDrill.objects.select_related("request").get(pk=drill_id)


def test_a_loss_of_tier_drill_finds_the_clips_that_only_lived_on_that_tier(
    media: Media, workers: Workers
) -> None:
    hole = only_on_the_raid(media)
    workers.start()
    response = media.world.client("dit").post(
        "/api/drills/", {"project": "FILM", "scenario": "tier_loss", "tier": "hot", "day": 1}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["unrecoverable"] == ["A001C009_X"] and body["unrecoverable_files"] == 1
    assert body["lost"] == "the hot (online disk) tier (RAID-A), day 1"
    drill = finished(body["id"], workers)
    # Everything else came back from the warm shuttle, verified, into scratch, then was removed.
    items = list(drill.request.items.select_related("source_copy__volume"))
    assert len(items) == len(media.files) and {i.state for i in items} == {"verified"}
    assert {i.source_copy.volume.label for i in items} == {"SHUTTLE-A"}
    assert drill.request.excluded_volume_ids == sorted([media.raid.pk, media.card.pk])
    assert drill.per_tier["warm"]["files"] == len(media.files)
    assert drill.per_tier["warm"]["bytes"] == sum(f.size for f in media.files)
    assert drill.per_tier["warm"]["mb_per_second"] > 0
    assert drill.cleaned and list(Path(media.targets["scratch"].path).iterdir()) == []
    # The hole fails the drill and raises an alert naming the clip.
    assert drill.state == "failed"
    assert "1 clip(s) (1 file(s)) could not be restored at all" in drill.error and "A001C009_X" in drill.error
    alert = Alert.objects.get(kind="restore.drill_failed")
    assert alert.severity == "critical" and "Loss of a tier or site" in alert.title
    # The drill never touched a real copy: the RAID's copies are verified and on disk as before.
    assert Copy.objects.filter(volume=media.raid).exclude(state="verified").count() == 0
    assert (Path(media.raid.location) / media.card.label / hole.relative_path).exists()
    finish = AuditEvent.objects.get(action="restore.drill_finish", object_id=str(drill.pk))
    assert finish.after["unrecoverable"] == ["A001C009_X"]
    page = media.world.client("viewer").get("/p/FILM/drills/").content.decode()
    assert "Loss of a tier or site" in page and "A001C009_X" in page


def test_a_card_corruption_drill_restores_from_the_next_tier_and_passes(
    media: Media, workers: Workers
) -> None:
    workers.start()
    call_command("restore_drill", "FILM", "--scenario", "card_corruption", "--card", "A001")
    drill = finished(RestoreDrill.objects.get().pk, workers)
    assert drill.state == "passed", drill.error
    assert "card A001" in drill.lost and "RAID-A" in drill.lost
    assert set(drill.per_tier) == {"warm"} and drill.unrecoverable == []
    # No drill measured the tiers before: the runbook had no expected time to compare with.
    assert drill.expected_seconds is None and not drill.over_time


def test_a_complete_local_failure_with_no_off_site_copy_fails_at_once(media: Media) -> None:
    call_command("restore_drill", "FILM", "--scenario", "local_failure")
    drill = RestoreDrill.objects.get()
    assert drill.state == "failed" and drill.request is None
    assert sorted(drill.unrecoverable) == sorted(c.name for c in media.clips)
    assert "nothing could be restored" in drill.error
