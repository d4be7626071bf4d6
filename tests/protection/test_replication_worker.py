"""Replication jobs on a real worker: a killed worker's job resumes without recopying; transfer windows."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import AuditEvent, Copy, Volume
from protection import services
from protection.models import DestinationSettings, ReplicationItem, ReplicationJob
from tests.copyengine.conftest import partial_files
from tests.fixtures import World
from tests.protection.conftest import Workers, build_footage, wait_for, xxh128_file

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_killed_worker_is_resumed_without_recopying_finished_files(
    world: World, workers: Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # Four 12 MB files at 12 MB/s: about 4 s of copying, long enough to kill the worker mid-job.
    footage = build_footage(
        world, tmp_path / "big", host=workers.host, sizes=[[12_000_000, 12_000_000], [12_000_000, 12_000_000]]
    )
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    DestinationSettings.objects.create(volume=lto, max_mb_per_second=12)
    footage.rule(footage.group("lto", lto))
    monkeypatch.setenv("REELVAULT_JOB_STALE_SECONDS", "2")
    settings.REELVAULT_JOB_STALE_SECONDS = 2
    first = workers.start()
    planned = services.replication_request(actor=None, project=world.project, card=footage.card)
    job_id = planned.jobs[0].pk

    def half_done() -> bool:
        job = ReplicationJob.objects.get(pk=job_id)
        return job.state == "running" and job.files_done >= 1 and job.bytes_copied >= job.size_bytes // 2

    wait_for(half_done, timeout=60, message=f"the replication to be half done\n{workers.logs()}")
    workers.kill(first)
    killed = ReplicationJob.objects.get(pk=job_id)
    assert killed.state == "running" and killed.files_done < 4
    done_before = set(
        ReplicationItem.objects.filter(job_id=job_id, state="verified").values_list("pk", flat=True)
    )

    workers.start()
    time.sleep(2.5)  # the heartbeat goes stale
    assert services.replication_jobs_recover() == [job_id]
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state not in ReplicationJob.ACTIVE,
        timeout=60,
        message=f"the resumed replication to end\n{workers.logs()}",
    )
    job = ReplicationJob.objects.get(pk=job_id)
    assert job.state == "verified", job.error
    assert job.attempts == 2
    for media_file in footage.files:
        assert xxh128_file(Path(lto.location) / "A001" / media_file.relative_path) == media_file.xxh128
        assert Copy.objects.get(media_file=media_file, volume=lto).state == Copy.State.VERIFIED
    assert not partial_files(Path(lto.location))
    # Files verified before the kill were not copied again; at most the file cut by the kill was.
    for item in ReplicationItem.objects.filter(pk__in=done_before):
        assert [t["outcome"] for t in item.tries] == ["copied"]
    assert job.bytes_copied <= job.size_bytes + 12_000_000
    starts = AuditEvent.objects.filter(action="replication.start", object_id=str(job_id)).order_by("id")
    assert [e.after["attempt"] for e in starts] == [1, 2]


def test_a_job_outside_its_window_waits_and_runs_when_the_window_opens(
    world: World, workers: Workers, tmp_path: Path
) -> None:
    footage = build_footage(world, tmp_path / "media", host=workers.host)
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    now = timezone.localtime()
    closed = DestinationSettings.objects.create(
        volume=lto,
        window_start=(now + timedelta(hours=2)).time(),
        window_end=(now + timedelta(hours=3)).time(),
    )
    footage.rule(footage.group("lto", lto))
    workers.start()
    job_id = services.replication_request(actor=None, project=world.project, card=footage.card).jobs[0].pk

    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.WAITING_WINDOW,
        timeout=60,
        message=workers.logs(),
    )
    page = world.client("viewer").get(f"/replications/{job_id}/").content.decode()
    assert "Waiting for window" in page
    assert not Copy.objects.filter(volume=lto).exists()
    assert services.replication_jobs_recover() == []  # still closed

    closed.window_start = (now - timedelta(hours=1)).time()
    closed.save()
    assert services.replication_jobs_recover() == [job_id]
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.VERIFIED,
        timeout=60,
        message=workers.logs(),
    )
    assert Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count() == 3


def test_a_running_job_is_paused_between_files_and_resumed_from_the_queue_page(
    world: World, workers: Workers, tmp_path: Path
) -> None:
    footage = build_footage(
        world,
        tmp_path / "media",
        host=workers.host,
        sizes=[[6_000_000], [6_000_000], [6_000_000], [6_000_000]],
    )
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    DestinationSettings.objects.create(volume=lto, max_mb_per_second=6)
    footage.rule(footage.group("lto", lto))
    workers.start()
    job_id = services.replication_request(actor=None, project=world.project, card=footage.card).jobs[0].pk
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).bytes_copied >= 6_000_000,
        timeout=60,
        message=workers.logs(),
    )
    dit = world.client("dit")
    assert world.client("viewer").post(f"/replications/{job_id}/pause/").status_code == 403
    assert dit.post(f"/replications/{job_id}/pause/").status_code == 302

    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).current_file == "", timeout=60, message=workers.logs()
    )
    paused = ReplicationJob.objects.get(pk=job_id)
    assert paused.state == ReplicationJob.State.PAUSED
    verified = Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count()
    assert 1 <= verified < 4
    time.sleep(1)
    assert Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count() == verified  # it stays held
    assert "Resume" in dit.get(f"/p/{world.project.code}/replications/").content.decode()

    assert dit.post(f"/replications/{job_id}/resume/").status_code == 302
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.VERIFIED,
        timeout=60,
        message=workers.logs(),
    )
    assert Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count() == 4
    actions = list(
        AuditEvent.objects.filter(object_id=str(job_id), action__startswith="replication.").values_list(
            "action", flat=True
        )
    )
    assert "replication.pause" in actions and "replication.resume" in actions
