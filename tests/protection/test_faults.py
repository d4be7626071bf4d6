"""Faults from issue 13: a full destination, the S3 endpoint down mid-upload and back, no orphan uploads."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from alerts.models import Alert
from catalog.models import Copy, Volume
from protection import services
from protection.models import DestinationSettings, ReplicationJob
from tests.copyengine.conftest import partial_files, tmpfs, xxh128_bytes
from tests.fixtures import World
from tests.protection.conftest import Workers, build_footage, wait_for

__all__ = ["tmpfs"]  # the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> int:
    try:
        call_command("replicate", *args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_a_full_destination_stops_the_job_with_the_reason_and_keeps_what_was_verified(
    world: World, tmp_path: Path, host: str, tmpfs: Callable[[str], Path]
) -> None:
    footage = build_footage(world, tmp_path / "media", host=host, sizes=[[400_000, 400_000], [400_000]])
    small = tmpfs("1000k")
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD, location=str(small))
    footage.rule(footage.group("lto", lto))

    assert run("--project", "FILM", "--card", "A001") == 1

    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.FAILED
    assert "LTO-1" in job.error and "full" in job.error
    verified = Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count()
    assert 1 <= verified < 3
    assert not partial_files(small)
    alert = Alert.objects.get(key=f"replication:volume:{lto.pk}")
    assert "replication to LTO-1 failed" in alert.title


@pytest.fixture
def own_moto(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A moto server of this test's own, so it can be stopped and started again."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    yield server, client
    server.stop()


@pytest.mark.integration
def test_the_endpoint_down_mid_upload_fails_the_job_and_a_retry_finishes_without_orphans(
    world: World, workers: Workers, tmp_path: Path, own_moto: Any
) -> None:
    server, s3 = own_moto
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    # Three 12 MB files (multipart: two 8 MiB parts each) at 8 MB/s.
    footage = build_footage(
        world, tmp_path / "media", host=workers.host, sizes=[[12_000_000], [12_000_000], [12_000_000]]
    )
    cloud = footage.volume(
        "CLOUD-1", Volume.Kind.S3, Volume.Tier.COLD, host="", location=f"s3://{bucket}/film", offsite=True
    )
    DestinationSettings.objects.create(volume=cloud, max_mb_per_second=8)
    footage.rule(footage.group("cloud", cloud))
    workers.start()
    job_id = services.replication_request(actor=None, project=world.project, card=footage.card).jobs[0].pk

    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).bytes_copied >= 12_000_000,
        timeout=60,
        message=workers.logs(),
    )
    server.stop()
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.FAILED,
        timeout=120,
        message=workers.logs(),
    )
    job = ReplicationJob.objects.get(pk=job_id)
    assert "CLOUD-1" in job.error
    assert 1 <= Copy.objects.filter(volume=cloud, state=Copy.State.VERIFIED).count() < 3

    server.start()
    services.replication_job_retry(actor=None, job=job)
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.VERIFIED,
        timeout=120,
        message=workers.logs(),
    )
    assert Copy.objects.filter(volume=cloud, state=Copy.State.VERIFIED).count() == 3
    for media_file in footage.files:
        body = s3.get_object(Bucket=bucket, Key=f"film/A001/{media_file.relative_path}")["Body"].read()
        assert xxh128_bytes(body) == media_file.xxh128
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not Alert.objects.filter(key=f"replication:volume:{cloud.pk}", state="open").exists()


@pytest.mark.integration
def test_a_destination_unmounted_mid_copy_fails_the_job_with_the_volume_named(
    world: World, workers: Workers, tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    import subprocess

    footage = build_footage(
        world, tmp_path / "media", host=workers.host, sizes=[[6_000_000], [6_000_000], [6_000_000]]
    )
    drive = tmpfs("64m")
    shuttle = footage.volume("SHUTTLE-1", Volume.Kind.SHUTTLE, Volume.Tier.WARM, location=str(drive))
    DestinationSettings.objects.create(volume=shuttle, max_mb_per_second=6)
    footage.rule(footage.group("shuttles", shuttle))
    workers.start()
    job_id = services.replication_request(actor=None, project=world.project, card=footage.card).jobs[0].pk
    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).bytes_copied >= 6_000_000,
        timeout=60,
        message=workers.logs(),
    )
    subprocess.run(["umount", "-l", str(drive)], check=True)

    wait_for(
        lambda: ReplicationJob.objects.get(pk=job_id).state == ReplicationJob.State.FAILED,
        timeout=60,
        message=workers.logs(),
    )
    job = ReplicationJob.objects.get(pk=job_id)
    assert "SHUTTLE-1" in job.error and "vanished" in job.error, job.error
    assert 1 <= Copy.objects.filter(volume=shuttle, state=Copy.State.VERIFIED).count() < 3
    # The alert is raised after the job's failure commits: wait for it rather than race it.
    wait_for(
        lambda: Alert.objects.filter(key=f"replication:volume:{shuttle.pk}").exists(),
        timeout=30,
        message=workers.logs(),
    )
