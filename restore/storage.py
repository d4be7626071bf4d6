"""Where restores read and write: a catalog location (a folder, or s3://bucket/prefix) as a backend.

Object storage uses boto3's own configuration (credentials, region, and the
endpoint from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for S3-compatible
services), the same for the worker and the command line.
"""

from __future__ import annotations

from copyengine.backends import Destination, LocalDestination

S3_SCHEME = "s3://"


def is_object_storage(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def place_for(location: str, *, name: str) -> Destination:
    """The backend of a volume's or restore target's location (cheap: opens nothing)."""
    if is_object_storage(location):
        import boto3  # only workers that touch buckets pay for the import

        from copyengine.backends.s3 import S3Destination

        bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
        return S3Destination(bucket, prefix=prefix, client=boto3.client("s3"), name=name)
    return LocalDestination(location, name=name)


def split_copy_path(path: str) -> tuple[str, str]:
    """A copy's catalog path as (card folder, path inside it): offloads put cards in ``<label>/``."""
    label, _, relpath = path.partition("/")
    return (label, relpath) if relpath else ("", label)
