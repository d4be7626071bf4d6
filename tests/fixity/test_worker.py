"""Audits run by real Celery workers: unplugged mid-run, SIGKILLed mid-run, and the issue's "Done when"."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Alert
from catalog.models import Copy, Volume
from fixity import services
from fixity.models import FixityRun, VolumeFixity
from fixity.tasks import fixity_audits_due_task
from tests.copyengine.conftest import s3_endpoint
from tests.fixity.conftest import PROVEN_AT, Vault, Workers, flip_byte, wait_for
from tests.fixtures import VolumeFactory
from tests.restore.test_restore_s3 import s3

boto3 = pytest.importorskip("boto3")

__all__ = ["s3", "s3_endpoint"]  # moto's server, and a client whose endpoint the workers share

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished(run: FixityRun) -> bool:
    run.refresh_from_db()
    return run.state not in FixityRun.ACTIVE


def test_a_volume_unplugged_mid_audit_ends_interrupted(
    vault: Vault, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELVAULT_FIXITY_THROTTLE_BPS", "100000")  # the 300 kB first file takes 3 s
    workers.start()
    run = services.fixity_run_request(actor=None, volume=vault.raid, kind=FixityRun.Kind.FULL)
    wait_for(lambda: FixityRun.objects.get(pk=run.pk).state == "running", message="the run starts")
    time.sleep(0.5)
    root = Path(vault.raid.location)
    root.rename(root.with_name("raid-unplugged"))
    wait_for(lambda: finished(run), message=f"the run ends\n{workers.logs()}")
    assert run.state == FixityRun.State.INTERRUPTED, run.error
    assert "went away" in run.error
    assert run.missing == 0 and run.corrupt == 0
    assert not Copy.objects.filter(volume=vault.raid).exclude(state=Copy.State.VERIFIED).exists()
    state = VolumeFixity.objects.get(volume=vault.raid)
    assert state.unreachable_since is not None and state.unreachable_host == vault.host


def test_a_killed_worker_resumes_where_it_stopped(
    vault: Vault, workers: Workers, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setenv("REELVAULT_FIXITY_THROTTLE_BPS", "100000")
    monkeypatch.setenv("REELVAULT_JOB_STALE_SECONDS", "1")
    settings.REELVAULT_JOB_STALE_SECONDS = 1
    first = workers.start()
    run = services.fixity_run_request(actor=None, volume=vault.raid, kind=FixityRun.Kind.FULL)
    # The first file (3 s) is recorded as one batch; kill the worker while it reads the next ones.
    wait_for(lambda: FixityRun.objects.get(pk=run.pk).position >= 1, message="a first batch is recorded")
    workers.kill(first)
    run.refresh_from_db()
    assert run.state == FixityRun.State.RUNNING and run.position < 4
    time.sleep(1.5)
    assert services.fixity_runs_recover() == [run.pk]
    workers.start()
    wait_for(lambda: finished(run), message=f"the resumed run ends\n{workers.logs()}")
    assert run.state == FixityRun.State.FINISHED and run.attempts == 2
    # Resumed, not restarted: every file recorded exactly once.
    assert (run.position, run.files_checked, run.proven) == (4, 4, 4)


def bucket_volume(vault: Vault, s3: Any) -> Volume:
    bucket = f"reelvault-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    volume = VolumeFactory(
        project=vault.world.project,
        label="VAULT-S3",
        kind=Volume.Kind.S3,
        tier=Volume.Tier.COLD,
        host="",
        location=f"s3://{bucket}/vault",
    )
    for media_file in vault.files:
        path = f"{vault.card.label}/{media_file.relative_path}"
        s3.put_object(Bucket=bucket, Key=f"vault/{path}", Body=vault.content[media_file.pk])
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=path,
            state=Copy.State.VERIFIED,
            hash_found=media_file.xxh128,
            verified_at=PROVEN_AT,
        )
    return volume


def test_s3_objects_deleted_or_overwritten_behind_the_catalog(
    vault: Vault, s3: Any, workers: Workers
) -> None:
    volume = bucket_volume(vault, s3)
    bucket = volume.location.removeprefix("s3://").split("/")[0]
    deleted, overwritten = vault.files[0], vault.files[1]
    s3.delete_object(Bucket=bucket, Key=f"vault/A001/{deleted.relative_path}")
    s3.put_object(Bucket=bucket, Key=f"vault/A001/{overwritten.relative_path}", Body=b"something else")
    s3.put_object(Bucket=bucket, Key="vault/A001/stray.bin", Body=b"x")
    workers.start()
    run = services.fixity_run_request(actor=None, volume=volume, kind=FixityRun.Kind.FULL)
    wait_for(lambda: finished(run), message=f"the run ends\n{workers.logs()}")
    assert run.state == FixityRun.State.FINISHED, run.error
    assert (run.proven, run.corrupt, run.missing, run.extra) == (2, 1, 1, 1)
    assert Copy.objects.get(volume=volume, media_file=deleted).state == Copy.State.MISSING
    assert Copy.objects.get(volume=volume, media_file=overwritten).state == Copy.State.CORRUPT
    # A bucket that does not answer is unreachable: nothing changes.
    gone = VolumeFactory(
        project=vault.world.project,
        label="GONE-S3",
        kind=Volume.Kind.S3,
        host="",
        location="s3://no-such-bucket/x",
    )
    Copy.objects.create(
        media_file=deleted,
        volume=gone,
        path="A001/x",
        state=Copy.State.VERIFIED,
        hash_found=deleted.xxh128,
        verified_at=PROVEN_AT,
    )
    run = services.fixity_run_request(actor=None, volume=gone, kind=FixityRun.Kind.FULL)
    wait_for(lambda: finished(run), message=f"the run ends\n{workers.logs()}")
    assert run.state == FixityRun.State.UNREACHABLE and "no-such-bucket" in run.error
    assert Copy.objects.get(volume=gone).state == Copy.State.VERIFIED


def test_done_when_scheduled_audits_find_alert_and_repair(vault: Vault, s3: Any, workers: Workers) -> None:
    """A RAID, a shuttle and a bucket; beat finds each fault, alerts once, and the replicas are repaired."""
    bucket_vol = bucket_volume(vault, s3)
    flipped, deleted = vault.files[0], vault.files[1]
    shuttle_file = vault.path(flipped, vault.shuttle)
    flip_byte(shuttle_file, 500)
    vault.path(deleted, vault.raid).unlink()
    stray = Path(vault.raid.location) / "A001" / "copied by hand.mov"
    stray.write_bytes(b"stray")
    workers.start()

    fixity_audits_due_task.apply_async(queue="default")  # what beat sends every 15 minutes
    wait_for(
        lambda: (
            FixityRun.objects.filter(scheduled=True).count() == 3
            and not FixityRun.objects.filter(state__in=FixityRun.ACTIVE).exists()
        ),
        message=f"three scheduled audits end\n{workers.logs()}",
    )
    runs = {run.volume_id: run for run in FixityRun.objects.all()}
    raid_run, shuttle_run, s3_run = runs[vault.raid.pk], runs[vault.shuttle.pk], runs[bucket_vol.pk]
    assert (raid_run.missing, raid_run.extra, raid_run.corrupt) == (1, 1, 0)
    assert [f["path"] for f in raid_run.findings if f["kind"] == "extra"] == ["A001/copied by hand.mov"]
    assert (shuttle_run.corrupt, shuttle_run.missing) == (1, 0)
    assert (s3_run.proven, s3_run.corrupt, s3_run.missing) == (4, 0, 0)
    # Alerted once per volume and problem.
    corrupt_alert = Alert.objects.get(key=f"copy.corrupt:volume:{vault.shuttle.pk}")
    missing_alert = Alert.objects.get(key=f"copy.missing:volume:{vault.raid.pk}")
    assert corrupt_alert.occurrences == 1 and missing_alert.occurrences == 1
    # Repaired from good copies; the corrupt file is kept beside under a quarantine name.
    wait_for(
        lambda: (
            not Copy.objects.filter(volume__in=[vault.raid, vault.shuttle])
            .exclude(state=Copy.State.VERIFIED)
            .exists()
        ),
        message=f"the repairs end\n{workers.logs()}",
    )
    assert shuttle_file.read_bytes() == vault.content[flipped.pk]
    assert vault.path(deleted, vault.raid).read_bytes() == vault.content[deleted.pk]
    quarantined = list(shuttle_file.parent.glob(f"{shuttle_file.name}.reelvault-quarantine-*"))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() != vault.content[flipped.pk]
    assert stray.exists()  # nothing deleted
    corrupt_alert.refresh_from_db()
    assert corrupt_alert.state == Alert.State.RESOLVED

    # Later: the shuttle is unplugged. The next scheduled audit finds it unreachable, not missing.
    root = Path(vault.shuttle.location)
    root.rename(root.with_name("shuttle-in-the-van"))
    VolumeFixity.objects.filter(volume=vault.shuttle).update(
        next_due_at=timezone.now() - timedelta(minutes=1)
    )
    fixity_audits_due_task.apply_async(queue="default")
    wait_for(
        lambda: FixityRun.objects.filter(volume=vault.shuttle, state=FixityRun.State.UNREACHABLE).exists(),
        message=f"the shuttle's audit ends\n{workers.logs()}",
    )
    assert not Copy.objects.filter(volume=vault.shuttle).exclude(state=Copy.State.VERIFIED).exists()
    key = f"fixity.unreachable:volume:{vault.shuttle.pk}"
    assert not Alert.objects.filter(key=key).exists()  # not yet past the warm tier's 72 hours
    VolumeFixity.objects.filter(volume=vault.shuttle).update(
        unreachable_since=timezone.now() - timedelta(days=4)
    )
    for _ in range(2):
        fixity_audits_due_task.apply_async(queue="default")
        time.sleep(1)
    wait_for(lambda: Alert.objects.filter(key=key, occurrences=2).exists(), message="the alert is counted")
    assert Alert.objects.filter(key=key).count() == 1
    page = vault.world.client("viewer").get(f"/volumes/{vault.shuttle.pk}/fixity/").content.decode()
    assert "Unreachable since" in page and vault.host in page
    raid_page = vault.world.client("viewer").get(f"/volumes/{vault.raid.pk}/fixity/").content.decode()
    assert "100 % of 520.0 KB" in raid_page and "none known" in raid_page


def test_a_bucket_set_to_its_stored_checksum_is_audited_by_head_and_read_back_on_schedule(
    vault: Vault, s3: Any, workers: Workers
) -> None:
    """What the cheaper check proves and what it does not, and the full read-back that follows."""
    from fixity.storage import STORED_HASH_KEY
    from protection.storage import HASH_KEY

    assert STORED_HASH_KEY == HASH_KEY  # the key replication writes is the one audits read
    volume = bucket_volume(vault, s3)
    bucket = volume.location.removeprefix("s3://").split("/")[0]
    key = {f.pk: f"vault/A001/{f.relative_path}" for f in vault.files}
    for f in vault.files:  # as replication writes them: our XXH3-128 in the metadata
        s3.put_object(
            Bucket=bucket, Key=key[f.pk], Body=vault.content[f.pk], Metadata={STORED_HASH_KEY: f.xxh128}
        )
    VolumeFixity.objects.create(volume=volume, check_mode=VolumeFixity.Check.STORED, read_back_every_days=90)
    total = sum(f.size for f in vault.files)
    workers.start()

    # 1. Never read back yet: the audit the schedule asks for is a full read-back.
    first = services.fixity_run_request(actor=None, volume=volume, scheduled=True)
    assert (first.kind, first.check_mode) == (FixityRun.Kind.FULL, VolumeFixity.Check.READ)
    wait_for(lambda: finished(first), message=f"the run ends\n{workers.logs()}")
    assert first.state == FixityRun.State.FINISHED and first.proven == 4 and first.bytes_checked == total
    assert VolumeFixity.objects.get(volume=volume).last_read_back_at is not None

    # 2. Behind the catalog's back: one object deleted, one overwritten by another tool (no
    #    checksum of ours), one overwritten with the same size and our metadata copied over.
    gone, replaced, forged, _kept = vault.files
    s3.delete_object(Bucket=bucket, Key=key[gone.pk])
    s3.put_object(Bucket=bucket, Key=key[replaced.pk], Body=b"something else")
    s3.put_object(
        Bucket=bucket,
        Key=key[forged.pk],
        Body=bytes(b ^ 0xFF for b in vault.content[forged.pk]),
        Metadata={STORED_HASH_KEY: forged.xxh128},
    )
    cheap = services.fixity_run_request(actor=None, volume=volume, scheduled=True)
    assert (cheap.kind, cheap.check_mode) == (FixityRun.Kind.INCREMENTAL, VolumeFixity.Check.STORED)
    wait_for(lambda: finished(cheap), message=f"the run ends\n{workers.logs()}")
    assert cheap.state == FixityRun.State.FINISHED, cheap.error
    # HEAD finds the deleted object missing and the foreign one changed (read back: 14 bytes)...
    assert Copy.objects.get(volume=volume, media_file=gone).state == Copy.State.MISSING
    assert Copy.objects.get(volume=volume, media_file=replaced).state == Copy.State.CORRUPT
    assert cheap.bytes_checked == len(b"something else")
    # ...but not bytes changed under an unchanged record: only a read-back proves bytes.
    assert Copy.objects.get(volume=volume, media_file=forged).state == Copy.State.VERIFIED
    page = vault.world.client("viewer").get(f"/fixity-runs/{cheap.pk}/").content.decode()
    assert "compare the stored checksum (HEAD)" in page

    # 3. The read-back falls due (its period passed): the schedule's audit reads everything again.
    VolumeFixity.objects.filter(volume=volume).update(last_read_back_at=timezone.now() - timedelta(days=91))
    full = services.fixity_run_request(actor=None, volume=volume, scheduled=True)
    assert (full.kind, full.check_mode) == (FixityRun.Kind.FULL, VolumeFixity.Check.READ)
    wait_for(lambda: finished(full), message=f"the run ends\n{workers.logs()}")
    assert Copy.objects.get(volume=volume, media_file=forged).state == Copy.State.CORRUPT
