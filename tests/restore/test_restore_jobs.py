"""Restore jobs run by a real Celery worker: the happy path and every fault the issue names.

Truth comes from outside the job: restored files are compared byte for byte
with what the test wrote, hashed here with xxhash, and the ASC reference
tool (`ascmhl-debug verify`) checks the history at the target.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from alerts.models import Notification
from catalog.models import AuditEvent, Copy
from restore import services
from restore.models import RestoreItem, RestoreRequest, RestoreTarget
from tests.restore.conftest import (
    ASCMHL_DEBUG,
    Media,
    Workers,
    build_media,
    flip_byte,
    partial_files,
    wait_for,
    xxh128_file,
)

# Roles are re-created by the world fixture (ensure_roles) after each flush.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished(restore_id: int) -> bool:
    return RestoreRequest.objects.get(pk=restore_id).state in RestoreRequest.FINISHED


def request_and_approve(media: Media, *, target: str = "editorial", **selector: Any) -> int:
    """Editor requests, admin approves, through the API, as in the browser."""
    body = {"clips": selector or {"scene": "42"}, "target": target, "reason": "conform the director's cut"}
    response = media.world.client("editor").post("/api/restores/", body, format="json")
    assert response.status_code == 201, response.content
    restore_id = int(response.json()["id"])
    approved = media.world.client("admin").post(
        f"/api/restores/{restore_id}/approve/", {"comment": "go ahead"}
    )
    assert approved.status_code == 200, approved.content
    return restore_id


def run_to_end(media: Media, workers: Workers, restore_id: int, timeout: float = 90) -> RestoreRequest:
    wait_for(lambda: finished(restore_id), timeout=timeout, message=f"restore {restore_id}\n{workers.logs()}")
    return RestoreRequest.objects.get(pk=restore_id)


def test_scene_restore_is_verified_and_passes_the_asc_reference_tool(media: Media, workers: Workers) -> None:
    workers.start()
    restore_id = request_and_approve(media)
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "verified", restore.error
    assert restore.files_done == 3 and restore.bytes_done == restore.size_bytes == sum(
        f.size for f in media.files
    )
    for media_file in media.files:
        restored = media.restored(restore.folder, media_file)
        assert restored.read_bytes() == media.content[media_file.pk]
        assert xxh128_file(restored) == media_file.xxh128
        assert restored.stat().st_mtime == media_file.mtime.timestamp()
    items = list(restore.items.select_related("source_copy__volume"))
    assert {i.state for i in items} == {"verified"}
    assert {i.source_copy.volume.label for i in items} == {"RAID-A"}  # hot + healthy first
    assert not partial_files(Path(media.targets["editorial"].path))

    folder = Path(media.targets["editorial"].path) / restore.folder
    assert Path(restore.mhl_generation).parent == folder / "ascmhl"
    if not ASCMHL_DEBUG.exists():
        pytest.skip("the ASC MHL reference tool is not installed (.venv-tools)")
    result = subprocess.run([str(ASCMHL_DEBUG), "verify", str(folder)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

    # Every step is in the audit log, in order, and the requester heard of every state.
    actions = list(
        AuditEvent.objects.filter(object_id=str(restore_id), object_type="restore.restorerequest")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "restore.request",
        "restore.approve",
        "restore.queue",
        "restore.start",
        "restore.finish",
    ]
    kinds = list(
        Notification.objects.filter(user__username="editor").order_by("id").values_list("kind", flat=True)
    )
    # One notification per state a person acts on: the approval that sends it to a worker is one
    # ("approved, going to the worker"), not an approved, a queued and a running one.
    assert kinds == ["restore.requested", "restore.approved", "restore.verified"]
    assert Notification.objects.filter(user__username="admin", kind="restore.verified").exists()
    page = media.world.client("editor").get(f"/restores/{restore_id}/").content.decode()
    assert "Verified" in page and "100%" in page


def test_a_flipped_byte_in_the_primary_is_restored_from_the_secondary(media: Media, workers: Workers) -> None:
    bad = media.files[0]
    flip_byte(media.copy_path(bad, media.raid), offset=1234)
    workers.start()
    restore_id = request_and_approve(media)
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "verified", restore.error
    assert media.restored(restore.folder, bad).read_bytes() == media.content[bad.pk]
    item = restore.items.get(media_file=bad)
    assert item.source_copy.volume == media.shuttle
    assert [t["outcome"] for t in item.tries] == ["corrupt", "restored"]
    primary = Copy.objects.get(media_file=bad, volume=media.raid)
    assert primary.state == "corrupt" and primary.hash_found and primary.hash_found != bad.xxh128
    assert "does not match the catalog" in primary.last_error
    # The other files' primary copies are still good and were used.
    assert Copy.objects.filter(volume=media.raid, state="verified").count() == 2
    assert AuditEvent.objects.filter(action="copy.corrupt", object_id=str(primary.pk)).exists()
    alert = Notification.objects.get(user__username="admin", kind="copy.corrupt")
    assert alert.level == "critical" and "RAID-A" in alert.subject
    assert Notification.objects.filter(user__username="dit", kind="copy.corrupt").exists()


def test_every_copy_bad_fails_and_names_the_files(media: Media, workers: Workers) -> None:
    bad, also_bad = media.files[0], media.files[2]
    flip_byte(media.copy_path(bad, media.raid))
    media.copy_path(bad, media.shuttle).unlink()
    media.copy_path(also_bad, media.raid).unlink()
    flip_byte(media.copy_path(also_bad, media.shuttle), offset=99)
    workers.start()
    restore_id = request_and_approve(media)
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "failed"
    assert "2 of 3 files could not be restored" in restore.error
    assert f"A001/{bad.relative_path}" in restore.error and f"A001/{also_bad.relative_path}" in restore.error
    failed = {i.media_file_id: i for i in restore.items.filter(state="failed")}
    assert set(failed) == {bad.pk, also_bad.pk}
    assert "every copy is bad" in failed[bad.pk].error
    assert Copy.objects.get(media_file=bad, volume=media.raid).state == "corrupt"
    assert Copy.objects.get(media_file=bad, volume=media.shuttle).state == "missing"
    assert Copy.objects.get(media_file=also_bad, volume=media.raid).state == "missing"
    assert Copy.objects.get(media_file=also_bad, volume=media.shuttle).state == "corrupt"
    # What could be restored was, and is verifiable; what could not is absent, not half-written.
    good = media.files[1]
    assert media.restored(restore.folder, good).read_bytes() == media.content[good.pk]
    assert not media.restored(restore.folder, bad).exists()
    assert not partial_files(Path(media.targets["editorial"].path))
    detail = media.world.client("editor").get(f"/api/restores/{restore_id}/").json()
    assert detail["state"] == "failed" and {i["state"] for i in detail["items"]} == {"failed", "verified"}
    assert Notification.objects.filter(user__username="admin", kind="restore.failed").exists()


def test_a_target_that_fills_up_stops_the_job_cleanly(media: Media, workers: Workers, tmpfs: Any) -> None:
    small = tmpfs("1m")
    target = RestoreTarget.objects.create(
        project=media.world.project, name="colour", host=media.host, path=str(small)
    )
    body = {"clips": {"scene": "42"}, "target": "colour", "reason": "grade"}
    restore_id = media.world.client("editor").post("/api/restores/", body, format="json").json()["id"]
    # Between the request and the run, something else takes most of the space.
    filler = small / "someone_elses_file.bin"
    filler.write_bytes(b"x" * 600_000)
    workers.start()
    assert media.world.client("admin").post(f"/api/restores/{restore_id}/approve/", {}).status_code == 200
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "failed"
    assert "the restore target is full" in restore.error and "free space on it" in restore.error
    assert "were not attempted" in restore.error
    assert filler.read_bytes() == b"x" * 600_000
    assert not partial_files(small)
    # The files that fitted are complete and verified; the rest were not attempted.
    assert sorted(restore.items.values_list("state", flat=True)) == ["pending", "verified", "verified"]
    for item in restore.items.filter(state="verified").select_related("media_file"):
        assert xxh128_file(small / restore.folder / item.path) == item.media_file.xxh128
    assert sorted(p.name for p in small.iterdir()) == sorted([filler.name, restore.folder])
    assert RestoreItem.objects.get(request_id=restore_id, state="pending").tries == []
    assert target.requests.get() == restore


def test_a_killed_worker_is_resumed_and_finishes(
    world: Any, workers: Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # Three 24 MB files at 16 MB/s: about 4.5 s of copying, long enough to kill the worker mid-file.
    media = build_media(
        world, tmp_path / "big", host=workers.host, sizes=[[24_000_000, 24_000_000], [24_000_000]]
    )
    monkeypatch.setenv("REELVAULT_RESTORE_THROTTLE_BPS", str(16_000_000))
    monkeypatch.setenv("REELVAULT_JOB_STALE_SECONDS", "2")
    settings.REELVAULT_JOB_STALE_SECONDS = 2
    first = workers.start()
    restore_id = request_and_approve(media)

    def mid_restore() -> bool:
        restore = RestoreRequest.objects.get(pk=restore_id)
        return (
            restore.state == "running"
            and restore.files_done >= 1
            and restore.bytes_done > restore.size_bytes // 2
        )

    wait_for(mid_restore, timeout=60, message=f"the restore to be half done\n{workers.logs()}")
    workers.kill(first)
    killed_at = RestoreRequest.objects.get(pk=restore_id)
    assert killed_at.state == "running" and killed_at.files_done < 3
    folder = Path(media.targets["editorial"].path) / killed_at.folder
    done_before = set(
        RestoreItem.objects.filter(request_id=restore_id, state="verified").values_list("pk", flat=True)
    )
    assert done_before

    workers.start()
    time.sleep(2.5)  # the heartbeat goes stale
    assert services.restore_requests_recover() == [restore_id]
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "verified", restore.error
    assert restore.attempts == 2
    for media_file in media.files:
        assert xxh128_file(media.restored(restore.folder, media_file)) == media_file.xxh128
    assert not partial_files(folder)
    # Files verified before the kill were not copied again.
    for item in RestoreItem.objects.filter(pk__in=done_before):
        assert [t["outcome"] for t in item.tries] == ["restored"]
    starts = AuditEvent.objects.filter(action="restore.start", object_id=str(restore_id)).order_by("id")
    assert [e.after["attempt"] for e in starts] == [1, 2]
    assert os.path.isdir(folder / "ascmhl")


def test_a_drill_restores_a_sample_to_scratch_measures_and_cleans_up(media: Media, workers: Workers) -> None:
    workers.start()
    response = media.world.client("dit").post(
        "/api/drills/", {"project": "FILM", "tier": "warm"}, format="json"
    )
    assert response.status_code == 201, response.content
    drill_id = response.json()["id"]
    from restore.models import RestoreDrill

    wait_for(
        lambda: RestoreDrill.objects.get(pk=drill_id).state != "running",
        timeout=90,
        message=f"drill {drill_id}\n{workers.logs()}",
    )
    drill = RestoreDrill.objects.get(pk=drill_id)
    assert drill.state == "passed", drill.error
    assert drill.mb_per_second and drill.mb_per_second > 0 and drill.seconds and drill.cleaned
    assert drill.bytes > 0 and len(drill.clips) >= 1
    items = drill.request.items.select_related("source_copy__volume")
    assert {i.source_copy.volume.tier for i in items} == {"warm"}
    scratch = Path(media.targets["scratch"].path)
    assert list(scratch.iterdir()) == []  # cleaned
    page = media.world.client("viewer").get("/p/FILM/drills/").content.decode()
    assert "Passed" in page
    runbook = media.world.client("viewer").get("/p/FILM/runbook/").content.decode()
    assert "measured by 1 passed drill" in runbook


def test_a_failed_drill_raises_an_alert(media: Media, workers: Workers) -> None:
    for media_file in media.files:
        flip_byte(media.copy_path(media_file, media.shuttle))
    workers.start()
    drill = services.restore_drill_start(actor=None, project=media.world.project, tier="warm", sample_clips=2)
    from restore.models import RestoreDrill

    wait_for(
        lambda: RestoreDrill.objects.get(pk=drill.pk).state != "running",
        timeout=90,
        message=f"drill {drill.pk}\n{workers.logs()}",
    )
    drill.refresh_from_db()
    assert drill.state == "failed" and "could not be restored" in drill.error
    assert drill.cleaned and list(Path(media.targets["scratch"].path).iterdir()) == []
    # The alert is raised after the drill's result commits (restore/alerting.py): wait for it.
    notified = Notification.objects.filter(user__username="admin", kind="restore.drill_failed")
    wait_for(notified.exists, timeout=30, message=workers.logs())
    alert = notified.get()
    assert alert.level == "critical" and "FAILED" in alert.subject
    assert Copy.objects.filter(volume=media.shuttle, state="corrupt").count() >= 1
