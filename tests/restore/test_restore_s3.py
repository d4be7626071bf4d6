"""Restores from and to object storage, run by a real worker against moto's standalone server.

moto runs as an HTTP server on 127.0.0.1; the worker's boto3 reaches it
through the standard ``AWS_ENDPOINT_URL_S3`` setting, exactly as it would an
S3-compatible service. Truth comes from independent GETs and from the bytes
the test wrote.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Copy, Volume
from restore.models import RestoreDrill, RestoreRequest, RestoreTarget
from tests.copyengine.conftest import s3_endpoint
from tests.fixtures import VolumeFactory
from tests.restore.conftest import Media, Workers, partial_files, wait_for, xxh128_file
from tests.restore.test_restore_jobs import request_and_approve, run_to_end

boto3 = pytest.importorskip("boto3")

__all__ = ["s3_endpoint"]  # moto's server, a fixture shared with the copy-engine tests

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client for the test, and the same endpoint and credentials for the workers (boto3's own settings)."""
    for name, value in {
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"reelvault-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def vault_in_bucket(media: Media, s3: Any, bucket: str) -> Volume:
    """A cold S3 volume holding a verified copy of every file, uploaded for real."""
    vault = VolumeFactory(
        project=media.world.project,
        label="VAULT-S3",
        kind=Volume.Kind.S3,
        tier=Volume.Tier.COLD,
        health="healthy",
        host="",
        location=f"s3://{bucket}/vault",
    )
    for media_file in media.files:
        path = f"{media.card.label}/{media_file.relative_path}"
        s3.put_object(Bucket=bucket, Key=f"vault/{path}", Body=media.content[media_file.pk])
        Copy.objects.create(
            media_file=media_file,
            volume=vault,
            path=path,
            state=Copy.State.VERIFIED,
            hash_found=media_file.xxh128,
            verified_at=media_file.mtime,
        )
    return vault


def test_a_restore_falls_back_to_the_bucket_and_condemns_a_corrupt_object(
    media: Media, workers: Workers, s3: Any, bucket: str
) -> None:
    vault = vault_in_bucket(media, s3, bucket)
    # Every disk copy is gone; in the bucket, one object was damaged.
    for media_file in media.files:
        media.copy_path(media_file, media.raid).unlink()
        media.copy_path(media_file, media.shuttle).unlink()
    bad, good = media.files[0], media.files[1:]
    damaged = bytearray(media.content[bad.pk])
    damaged[500] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=f"vault/{media.card.label}/{bad.relative_path}", Body=bytes(damaged))
    workers.start()
    restore = run_to_end(media, workers, request_and_approve(media))
    assert restore.state == "failed" and "1 of 3 files could not be restored" in restore.error
    for media_file in good:
        restored = media.restored(restore.folder, media_file)
        assert restored.read_bytes() == media.content[media_file.pk]
        assert restored.stat().st_mtime == media_file.mtime.timestamp()
        item = restore.items.get(media_file=media_file)
        assert [t["outcome"] for t in item.tries] == ["missing", "missing", "restored"]
        assert item.source_copy.volume == vault
    assert not media.restored(restore.folder, bad).exists()
    condemned = Copy.objects.get(media_file=bad, volume=vault)
    assert condemned.state == "corrupt" and condemned.hash_found != bad.xxh128
    assert "does not match the catalog" in condemned.last_error
    assert not partial_files(Path(media.targets["editorial"].path))


def test_a_restore_to_a_bucket_is_read_back_from_it(
    media: Media, workers: Workers, s3: Any, bucket: str
) -> None:
    RestoreTarget.objects.create(
        project=media.world.project,
        name="cloud",
        kind=RestoreTarget.Kind.S3,
        host=media.host,
        path=f"s3://{bucket}/restores",
    )
    body = {"clips": {"scene": "42"}, "target": "cloud", "reason": "send to the VFX vendor"}
    response = media.world.client("editor").post("/api/restores/", body, format="json")
    assert response.status_code == 201, response.content
    restore_id = int(response.json()["id"])
    folder = RestoreRequest.objects.get(pk=restore_id).folder
    # Someone else's object already has one of the names: it must survive.
    taken = media.files[2]
    taken_key = f"restores/{folder}/{media.card.label}/{taken.relative_path}"
    s3.put_object(Bucket=bucket, Key=taken_key, Body=b"not ours")
    workers.start()
    approved = media.world.client("admin").post(f"/api/restores/{restore_id}/approve/", {"comment": "ok"})
    assert approved.status_code == 200, approved.content
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "failed", restore.error
    assert "1 of 3 files could not be restored" in restore.error and "not overwritten" in restore.error
    for media_file in media.files[:2]:
        key = f"restores/{restore.folder}/{media.card.label}/{media_file.relative_path}"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == media.content[media_file.pk]
    assert s3.get_object(Bucket=bucket, Key=taken_key)["Body"].read() == b"not ours"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    items = {i.media_file_id: i for i in restore.items.select_related("source_copy__volume")}
    assert {items[f.pk].state for f in media.files[:2]} == {"verified"}
    assert {items[f.pk].source_copy.volume.label for f in media.files[:2]} == {"RAID-A"}
    assert restore.mhl_generation == ""  # no ASC MHL history in a bucket yet


def test_a_drill_samples_the_bucket_tier(media: Media, workers: Workers, s3: Any, bucket: str) -> None:
    vault_in_bucket(media, s3, bucket)
    workers.start()
    response = media.world.client("dit").post(
        "/api/drills/", {"project": "FILM", "tier": "cold"}, format="json"
    )
    assert response.status_code == 201, response.content
    drill_id = response.json()["id"]
    wait_for(
        lambda: RestoreDrill.objects.get(pk=drill_id).state != "running",
        timeout=90,
        message=f"drill {drill_id}\n{workers.logs()}",
    )
    drill = RestoreDrill.objects.get(pk=drill_id)
    assert drill.state == "passed", drill.error
    assert drill.cleaned and drill.mb_per_second and drill.mb_per_second > 0
    items = drill.request.items.select_related("source_copy__volume")
    assert {i.source_copy.volume.kind for i in items} == {"s3"}
    assert list(Path(media.targets["scratch"].path).iterdir()) == []
    # The media itself is untouched by a drill.
    for media_file in media.files:
        assert xxh128_file(media.copy_path(media_file, media.raid)) == media_file.xxh128
