"""Where replication writes: a destination volume as a backend that tags objects with their hash,
and what makes a verified copy WORM there (locations themselves: ``catalog/storage.py``).

Object storage uses boto3's own configuration (credentials from the
environment or its files, never from the database; the endpoint from
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for S3-compatible services).
"""

from __future__ import annotations

import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from catalog.storage import is_object_storage, split_location
from copyengine.backends import CardWriter, Destination, LocalDestination
from copyengine.backends.s3 import S3CardWriter, S3Destination, S3PendingCopy

#: Object metadata key holding the XXH3-128 the copy was verified with.
HASH_KEY = "reelvault-xxh128"


class WormError(Exception):
    """The destination cannot keep a copy write-once as its volume promises; the message says why."""


def s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def place_for(location: str, *, name: str) -> Destination:
    """The backend of a volume's location (cheap: opens nothing)."""
    if is_object_storage(location):
        bucket, prefix = split_location(location)
        return TaggingS3Destination(bucket, prefix=prefix, client=s3_client(), name=name)
    return LocalDestination(location, name=name)


class TaggingS3Writer(S3CardWriter):
    """The S3 writer, putting the XXH3-128 of the file being copied in its object's metadata."""

    next_hash = ""

    def begin(self, relpath: str, *, size: int, mtime_ns: int) -> S3PendingCopy:
        pending = super().begin(relpath, size=size, mtime_ns=mtime_ns)
        if self.next_hash:
            pending.metadata[HASH_KEY] = self.next_hash
        return pending


class TaggingS3Destination(S3Destination):
    def open_writer(self, label: str) -> TaggingS3Writer:
        return TaggingS3Writer(self, label)


def tag_next(writer: CardWriter, xxh128: str) -> None:
    """Tell an S3 writer the hash of the file it is about to write (nothing for folders)."""
    if isinstance(writer, TaggingS3Writer):
        writer.next_hash = xxh128


# --- WORM ---------------------------------------------------------------------------------


def bucket_lock_check(*, location: str, label: str) -> None:
    """Raise WormError unless the volume's bucket was created with Object Lock enabled."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _ = split_location(location)
    try:
        config = s3_client().get_object_lock_configuration(Bucket=bucket)
    except ClientError as exc:
        raise WormError(
            f"{label} is a WORM volume but its bucket {bucket} has no Object Lock "
            f"({exc.response.get('Error', {}).get('Code', 'error')}): create a bucket with Object Lock "
            "enabled, or clear WORM on the volume"
        ) from exc
    except BotoCoreError as exc:
        raise WormError(f"{label}: cannot ask bucket {bucket} about Object Lock ({exc})") from exc
    if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
        raise WormError(
            f"{label} is a WORM volume but Object Lock is not enabled on bucket {bucket}: create a bucket "
            "with Object Lock enabled, or clear WORM on the volume"
        )


def object_lock(*, location: str, path: str, mode: str, days: int, now: datetime) -> str:
    """Put Object Lock retention on the object of a verified copy; return the locked version id."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_location(location)
    key = f"{prefix.strip('/')}/{path}" if prefix.strip("/") else path
    client = s3_client()
    try:
        version = str(client.head_object(Bucket=bucket, Key=key).get("VersionId") or "")
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Retention": {"Mode": mode, "RetainUntilDate": now + timedelta(days=days)},
        }
        if version:
            kwargs["VersionId"] = version
        client.put_object_retention(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise WormError(f"s3://{bucket}/{key} could not be locked: {exc}") from exc
    return version


def local_make_read_only(*, root: str, path: str) -> None:
    """Take every write bit off a verified copy on a local WORM volume (and say so if impossible)."""
    target = Path(root) / path
    try:
        mode = target.stat().st_mode
        target.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    except OSError as exc:
        raise WormError(f"{target} could not be made read-only: {exc}") from exc
