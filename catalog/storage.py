"""Where a catalog location is, as a copy-engine backend: a folder, or ``s3://bucket/prefix``.

Shared by every feature that reads copies back (restore, replication): turning a
volume's or a target's location into a backend, splitting a copy's catalog path
into its card folder and the path inside it, and ``CopySources``, the readers of
a job's source copies opened once per volume and card folder.

Object storage uses boto3's own configuration (credentials from the
environment or its files, never from the database; the endpoint from
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for S3-compatible services), the
same for the worker and the command line.
"""

from __future__ import annotations

from catalog.models import Copy
from copyengine.backends import CardReader, Destination, DestinationError, LocalDestination

S3_SCHEME = "s3://"


def is_object_storage(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def split_location(location: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix)."""
    bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
    return bucket, prefix


def split_copy_path(path: str) -> tuple[str, str]:
    """A copy's catalog path as (card folder, path inside it): offloads put cards in ``<label>/``."""
    label, _, relpath = path.partition("/")
    return (label, relpath) if relpath else ("", label)


def place_for(location: str, *, name: str) -> Destination:
    """The backend of a volume's or restore target's location (cheap: opens nothing)."""
    if is_object_storage(location):
        import boto3  # only workers that touch buckets pay for the import

        from copyengine.backends.s3 import S3Destination

        bucket, prefix = split_location(location)
        return S3Destination(bucket, prefix=prefix, client=boto3.client("s3"), name=name)
    return LocalDestination(location, name=name)


class CopySources:
    """Read access to the volumes holding a job's source copies, opened once per volume and card folder."""

    def __init__(self) -> None:
        self._readers: dict[tuple[int, str], CardReader | DestinationError] = {}

    def open(self, copy: Copy) -> tuple[CardReader, str]:
        """The reader of the copy's card folder and the copy's path inside it.

        Raises DestinationError when the volume cannot be read (remembered for the job).
        """
        label, relpath = split_copy_path(copy.path)
        key = (copy.volume_id, label)
        if key not in self._readers:
            place = place_for(copy.volume.location, name=copy.volume.label)
            try:
                self._readers[key] = place.open_reader(label)
            except DestinationError as exc:
                self._readers[key] = exc
        reader = self._readers[key]
        if isinstance(reader, DestinationError):
            raise reader
        return reader, relpath

    def close(self) -> None:
        for reader in self._readers.values():
            if isinstance(reader, CardReader):
                reader.close()
