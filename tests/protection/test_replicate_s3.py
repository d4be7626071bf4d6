"""Replication to object storage against moto's standalone server (real HTTP, nothing in boto3 mocked)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command

from catalog.models import Copy, Volume
from protection.models import DestinationSettings, ReplicationJob
from protection.storage import HASH_KEY
from tests.copyengine.conftest import xxh128_bytes
from tests.protection.conftest import Footage

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> int:
    try:
        call_command("replicate", *args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def bucket_volume(footage: Footage, bucket: str, *, worm: bool) -> Volume:
    return footage.volume(
        "CLOUD-1",
        Volume.Kind.S3,
        Volume.Tier.COLD,
        host="",
        location=f"s3://{bucket}/film",
        offsite=True,
        site="cloud eu-west",
        worm=worm,
    )


def test_local_to_s3_streams_verifies_and_tags_each_object(footage: Footage, s3: Any) -> None:
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    cloud = bucket_volume(footage, bucket, worm=False)
    footage.rule(footage.group("cloud", cloud))

    assert run("--project", "FILM", "--card", "A001") == 0

    for media_file in footage.files:
        key = f"film/A001/{media_file.relative_path}"
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert xxh128_bytes(obj["Body"].read()) == media_file.xxh128
        assert obj["Metadata"][HASH_KEY] == media_file.xxh128
        assert Copy.objects.get(media_file=media_file, volume=cloud).state == Copy.State.VERIFIED
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_worm_bucket_gets_object_lock_and_a_locked_version_cannot_be_deleted(
    footage: Footage, s3: Any
) -> None:
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    cloud = bucket_volume(footage, bucket, worm=True)
    DestinationSettings.objects.create(volume=cloud, lock_mode="COMPLIANCE", retention_days=30)
    footage.rule(footage.group("cloud", cloud))

    assert run("--project", "FILM", "--card", "A001") == 0

    key = f"film/A001/{footage.files[0].relative_path}"
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert Copy.objects.filter(volume=cloud, state=Copy.State.VERIFIED).count() == 3


def test_a_bucket_without_object_lock_is_refused_as_a_worm_destination(footage: Footage, s3: Any) -> None:
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    cloud = bucket_volume(footage, bucket, worm=True)
    footage.rule(footage.group("cloud", cloud))

    assert run("--project", "FILM", "--card", "A001") == 1

    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.FAILED
    assert "CLOUD-1 is a WORM volume" in job.error and "Object Lock" in job.error
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert not Copy.objects.filter(volume=cloud).exists()


def test_a_bucket_copy_is_replicated_back_to_a_local_shuttle(footage: Footage, s3: Any) -> None:
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    vault = bucket_volume(footage, bucket, worm=False)
    for media_file in footage.files:
        s3.put_object(
            Bucket=bucket, Key=f"film/A001/{media_file.relative_path}", Body=footage.content[media_file.pk]
        )
        Copy.objects.create(
            media_file=media_file,
            volume=vault,
            path=f"A001/{media_file.relative_path}",
            state=Copy.State.VERIFIED,
            hash_found=media_file.xxh128,
            verified_at=media_file.mtime,
        )
    Copy.objects.filter(volume=footage.raid).update(state=Copy.State.MISSING)  # the RAID is gone
    shuttle = footage.volume("SHUTTLE-9", Volume.Kind.SHUTTLE, Volume.Tier.WARM)
    footage.rule(footage.group("shuttles", shuttle), tier="cold")

    assert run("--project", "FILM", "--card", "A001") == 0

    job = ReplicationJob.objects.get()
    assert job.host == footage.host and job.destination == shuttle
    for media_file in footage.files:
        assert Copy.objects.get(media_file=media_file, volume=shuttle).state == Copy.State.VERIFIED
    assert set(job.items.values_list("source_copy__volume__label", flat=True)) == {"CLOUD-1"}


def test_wrong_credentials_fail_the_job_once_naming_the_volume_and_the_remedy(
    footage: Footage, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's server checks signatures once its authentication is switched on
    (INITIAL_NO_AUTH_ACTION_COUNT = 0): the key below exists nowhere, so every call is refused
    (403, InvalidAccessKeyId), as a real endpoint refuses a wrong or revoked key."""
    moto_settings = pytest.importorskip("moto.settings")
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    cloud = bucket_volume(footage, bucket, worm=False)
    footage.rule(footage.group("cloud", cloud))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY0000000")
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)

    assert run("--project", "FILM", "--card", "A001") == 1

    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.FAILED
    assert job.attempts == 1  # stopped at the first refusal: no retry storm
    assert job.error.startswith("CLOUD-1 (s3://"), job.error
    assert "refused access (403)" in job.error and "AWS_ACCESS_KEY_ID" in job.error, job.error
    # Nothing counts, nothing was written (the test's own client is refused too, so look with moto off).
    assert not Copy.objects.filter(volume=cloud, state=Copy.State.VERIFIED).exists()
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    # The failure is one alert naming the volume, on the page a person reads.
    page = footage.world.client("dit").get(f"/replications/{job.pk}/").content.decode()
    assert "CLOUD-1" in page and "refused access" in page
