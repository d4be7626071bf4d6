"""A destination that is an S3 (or S3-compatible) bucket, through boto3.

A card goes to ``s3://<bucket>/<prefix><label>/<relpath>``.

How the promise is kept without a rename:
  1. Existing objects are listed once when the writer opens (one LIST per
     1,000 keys instead of a HEAD per file); the engine uses that to
     resume (same size: hash it) or report a conflict (another size).
  2. Upload: files smaller than a part go up in one PUT, bigger ones as a
     multipart upload. Either way the object appears only when the upload
     completes, so a partial object is never visible.
  3. The PUT / CompleteMultipartUpload carries ``If-None-Match: *``: S3
     refuses it (412) if the key exists, so an object written by someone
     else after the listing is never replaced. That is a conflict.
  4. Verification streams the object back with GET (``If-Match`` on the
     ETag we got, so we hash our object and not a later one) and hashes it.
  5. The object is visible before it is verified. If the verification
     fails, the engine aborts the copy and we delete the object, with
     ``If-Match`` on our ETag (and our VersionId in a versioned bucket), so
     only the object this run created can go.
  6. A killed offload leaves incomplete multipart uploads behind (never
     visible, but billed); opening the writer aborts those under the card's
     prefix, the equivalent of removing local temporary files.

S3 has no mtime: the card's mtime is stored in the object's metadata
(``x-amz-meta-reelvault-mtime-ns``). There is no lock either; two offloads
of one card to one prefix cannot overwrite each other (step 3), but one may
abort the other's uploads (step 6), which then fail and must be re-run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from copyengine import hashing
from copyengine.backends.base import (
    BytesCallback,
    CardReader,
    CardWriter,
    Destination,
    DestinationError,
    Entry,
    EntryKind,
    FileCopyError,
    FinalExistsError,
    PendingCopy,
    SourceFile,
    SourceMissingError,
)

MIN_PART = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART = 8 * 1024 * 1024
MAX_PARTS = 10_000
READ_CHUNK = 1024 * 1024
MTIME_KEY = "reelvault-mtime-ns"

# Errors that make the whole bucket unusable, rather than one object.
_DESTINATION_CODES = {
    "NoSuchBucket",
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AccountProblem",
}
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
# 412: the condition failed (the key exists); 409: a concurrent conditional write won.
_EXISTS_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def part_size_for(size: int, minimum: int = DEFAULT_PART) -> int:
    """Part size that keeps a file under S3's 10,000-part limit (whole MiB)."""
    mib = 1024 * 1024
    return max(minimum, math.ceil(size / (MAX_PARTS - 1) / mib) * mib)


class S3Destination(Destination):
    """Cards go to ``s3://<bucket>/<prefix><label>/``.

    ``client`` is a boto3 S3 client (pass one to choose endpoint, region,
    credentials); by default ``boto3.client("s3")``. boto3 clients are
    thread-safe, and the engine uses this one from several threads.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        client: Any = None,
        name: str | None = None,
        part_size: int = DEFAULT_PART,
    ) -> None:
        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} bytes (S3's minimum)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client if client is not None else boto3.client("s3")
        self.part_size = part_size
        self.name = name or f"s3://{bucket}/{self.prefix}"

    def location(self, label: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{label}"

    def open_writer(self, label: str) -> S3CardWriter:
        return S3CardWriter(self, label)

    def open_reader(self, label: str) -> S3CardReader:
        return S3CardReader(self, label)

    def __repr__(self) -> str:
        return f"S3Destination({self.bucket!r}, prefix={self.prefix!r}, name={self.name!r})"


class S3CardReader(CardReader):
    def __init__(self, destination: S3Destination, label: str) -> None:
        self.destination = destination
        self.client = destination.client
        self.bucket = destination.bucket
        # An empty label reads the destination's prefix itself (a restore
        # source whose catalog path has no card folder); offloads always have one.
        self.base = f"{destination.prefix}{label}/" if label else destination.prefix
        self.location = destination.location(label)
        self.check_alive()
        self._sizes = self._list_sizes()

    def key(self, relpath: str) -> str:
        return self.base + relpath

    def _list_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.base
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    sizes[str(obj["Key"])[len(self.base) :]] = int(obj["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "list", "") from exc
        return sizes

    def check_alive(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = _code(exc)
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                # HEAD answers carry no error body: a refused key shows as a bare 403.
                raise DestinationError(
                    f"bucket {self.bucket} ({self.location}) refused access ({code}): the credentials "
                    "are wrong, revoked or not allowed on this bucket. Check AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY (or boto3's credentials file) on this worker and the "
                    "bucket's policy, then re-run",
                    reason="unavailable",
                ) from exc
            raise DestinationError(
                f"bucket {self.bucket} ({self.location}) cannot be used: {code} "
                f"({exc}). Check that it exists and the credentials allow writing, then re-run",
                reason="vanished" if code in _NOT_FOUND_CODES | {"NoSuchBucket"} else "unavailable",
            ) from exc
        except BotoCoreError as exc:
            raise DestinationError(
                f"{self.location} is unreachable ({exc}); check the network and endpoint, then re-run",
                reason="unavailable",
            ) from exc

    def stat(self, relpath: str) -> Entry:
        size = self._sizes.get(relpath)
        return Entry(EntryKind.ABSENT) if size is None else Entry(EntryKind.FILE, size=size)

    def hash(self, relpath: str, algorithms: Sequence[str], *, on_bytes: BytesCallback) -> dict[str, str]:
        return self._get_and_hash(relpath, algorithms, on_bytes=on_bytes)

    def _get_and_hash(
        self,
        relpath: str,
        algorithms: Sequence[str],
        *,
        on_bytes: BytesCallback,
        etag: str | None = None,
        version_id: str | None = None,
    ) -> dict[str, str]:
        """Stream the object with GET and hash it as it arrives (bounded memory)."""
        kwargs: dict[str, str] = {"Bucket": self.bucket, "Key": self.key(relpath)}
        if etag is not None:
            kwargs["IfMatch"] = etag  # our object, not one written since
        if version_id is not None:
            kwargs["VersionId"] = version_id
        hasher = hashing.MultiHasher(algorithms)
        try:
            body = self.client.get_object(**kwargs)["Body"]
            try:
                for data in body.iter_chunks(chunk_size=READ_CHUNK):
                    hasher.update(memoryview(data))
                    on_bytes(len(data))
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _code(exc) in _EXISTS_CODES:
                raise FileCopyError(
                    f"{self.location}/{relpath} was replaced by another writer before it could be verified"
                ) from exc
            raise self._error(exc, "read back", relpath) from exc
        return hasher.hexdigests()

    def open_file(self, relpath: str) -> S3SourceFile:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(relpath))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND_CODES:
                raise SourceMissingError(f"{self.location}/{relpath} is missing") from exc
            raise self._error(exc, "open", relpath) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "open", relpath) from exc
        return S3SourceFile(
            response["Body"], relpath, int(response["ContentLength"]), f"{self.location}/{relpath}"
        )

    def list_files(self) -> Iterator[str]:
        yield from sorted(self._list_sizes())

    def _error(
        self, exc: ClientError | BotoCoreError, action: str, relpath: str
    ) -> DestinationError | FileCopyError:
        where = f"{self.location}/{relpath}" if relpath else self.location
        if isinstance(exc, BotoCoreError):
            return DestinationError(
                f"could not {action} {where}: {exc}. Check the network and endpoint, then re-run",
                reason="unavailable",
            )
        code = _code(exc)
        if code in _DESTINATION_CODES:
            return DestinationError(
                f"could not {action} {where}: {code}. Check the bucket and credentials, then re-run",
                reason="vanished" if code == "NoSuchBucket" else "unavailable",
            )
        if code in ("EntityTooLarge", "QuotaExceeded"):
            return DestinationError(f"destination full: could not {action} {where}: {code}", reason="full")
        return FileCopyError(f"could not {action} {where}: {code or exc}")


class S3SourceFile(SourceFile):
    """An object streamed by one GET; botocore checks the byte count against Content-Length."""

    def __init__(self, body: Any, relpath: str, size: int, location: str) -> None:
        super().__init__(relpath, size, location)
        self._body: Any = body

    def readinto(self, buffer: memoryview) -> int:
        assert self._body is not None, "read after close"
        try:
            data = self._body.read(len(buffer))
        except BotoCoreError as exc:
            raise FileCopyError(f"cannot read {self.location}: {exc}") from exc
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if self._body is not None:
            body, self._body = self._body, None
            body.close()


class S3PendingCopy(PendingCopy):
    slow_close = True  # closing completes the upload

    def __init__(self, writer: S3CardWriter, relpath: str, size: int, mtime_ns: int) -> None:
        super().__init__(relpath, size)
        self.writer = writer
        self.key = writer.key(relpath)
        self.metadata = {MTIME_KEY: str(mtime_ns)}
        self.part_size = part_size_for(size, writer.destination.part_size)
        # Holds at most one part: the engine's chunk buffers are reused, so
        # the bytes must be copied anyway.
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.etag: str | None = None  # set once the object exists
        self.version_id: str | None = None
        self.committed = False

    def write(self, chunk: memoryview) -> None:
        self._buffer += chunk
        self.bytes_written += len(chunk)
        while len(self._buffer) >= self.part_size:
            self._upload_part(self.part_size)

    def _upload_part(self, length: int) -> None:
        client, bucket = self.writer.client, self.writer.bucket
        try:
            if self._upload_id is None:
                response = client.create_multipart_upload(Bucket=bucket, Key=self.key, Metadata=self.metadata)
                self._upload_id = str(response["UploadId"])
            number = len(self._parts) + 1
            body = bytes(self._buffer[:length])
            response = client.upload_part(
                Bucket=bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        except (ClientError, BotoCoreError) as exc:
            raise self.writer._error(exc, "upload", self.relpath) from exc
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})
        del self._buffer[:length]

    def close(self) -> None:
        client, bucket = self.writer.client, self.writer.bucket
        try:
            if self._upload_id is None:
                # Small file: one conditional PUT.
                response = client.put_object(
                    Bucket=bucket,
                    Key=self.key,
                    Body=bytes(self._buffer),
                    Metadata=self.metadata,
                    IfNoneMatch="*",
                )
            else:
                if self._buffer:
                    self._upload_part(len(self._buffer))
                response = client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                    IfNoneMatch="*",
                )
                self._upload_id = None  # completed: nothing left to abort
        except ClientError as exc:
            if _code(exc) in _EXISTS_CODES:
                raise FinalExistsError(
                    f"{self.writer.location}/{self.relpath} appeared during the offload; the existing object "
                    "was kept and nothing was overwritten"
                ) from exc
            raise self.writer._error(exc, "upload", self.relpath) from exc
        except BotoCoreError as exc:
            raise self.writer._error(exc, "upload", self.relpath) from exc
        self._buffer = bytearray()
        self.etag = str(response["ETag"])
        self.version_id = str(response["VersionId"]) if response.get("VersionId") else None

    def abort(self) -> None:
        client, bucket = self.writer.client, self.writer.bucket
        self._buffer = bytearray()
        try:
            if self._upload_id is not None:
                client.abort_multipart_upload(Bucket=bucket, Key=self.key, UploadId=self._upload_id)
                self._upload_id = None
            elif self.etag is not None and not self.committed:
                # Our own, unverified object: remove exactly it (If-Match on
                # its ETag; its version in a versioned bucket), nothing newer.
                kwargs: dict[str, str] = {"Bucket": bucket, "Key": self.key, "IfMatch": self.etag}
                if self.version_id is not None:
                    kwargs["VersionId"] = self.version_id
                client.delete_object(**kwargs)
                self.etag = None
        except (ClientError, BotoCoreError):
            pass  # best effort: an unverified object is never counted as a copy anyway


class S3CardWriter(S3CardReader, CardWriter):
    def __init__(self, destination: S3Destination, label: str) -> None:
        super().__init__(destination, label)
        self.removed_leftovers = tuple(self._abort_leftover_uploads())

    def _abort_leftover_uploads(self) -> list[str]:
        removed = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.base
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    key, upload_id = str(upload["Key"]), str(upload["UploadId"])
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                    removed.append(key[len(self.base) :])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "clean up unfinished uploads in", "") from exc
        return sorted(removed)

    def free_bytes(self) -> None:
        return None

    def begin(self, relpath: str, *, size: int, mtime_ns: int) -> S3PendingCopy:
        try:
            encoded = self.key(relpath).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FileCopyError(f"{relpath!r}: the name is not valid UTF-8 and cannot be an S3 key") from exc
        if len(encoded) > 1024:
            raise FileCopyError(f"{relpath}: the S3 key would exceed 1,024 bytes")
        return S3PendingCopy(self, relpath, size, mtime_ns)

    def make_durable(self, pendings: Sequence[PendingCopy]) -> dict[PendingCopy, FileCopyError]:
        return {}  # S3 acknowledges a PUT or completion only once the object is stored durably

    def read_back(self, pending: PendingCopy, *, on_bytes: BytesCallback) -> str:
        assert isinstance(pending, S3PendingCopy)
        digests = self._get_and_hash(
            pending.relpath,
            (hashing.DEFAULT_ALGORITHM,),
            on_bytes=on_bytes,
            etag=pending.etag,
            version_id=pending.version_id,
        )
        return digests[hashing.DEFAULT_ALGORITHM]

    def commit(self, pending: PendingCopy) -> None:
        assert isinstance(pending, S3PendingCopy)
        pending.committed = True  # already under its final key; abort must not delete it now

    def flush_commits(self) -> None:
        self.check_alive()
