"""Offload destinations. See ``base.py`` for the interface and how to add one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copyengine.backends.base import (
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
from copyengine.backends.local import LocalDestination

if TYPE_CHECKING:
    from copyengine.backends.s3 import S3Destination

__all__ = [
    "CardReader",
    "CardWriter",
    "Destination",
    "DestinationError",
    "Entry",
    "EntryKind",
    "FileCopyError",
    "FinalExistsError",
    "LocalDestination",
    "PendingCopy",
    "S3Destination",
    "SourceFile",
    "SourceMissingError",
]


def __getattr__(name: str) -> Any:
    # boto3 takes ~0.3 s and ~15 MB to import: only pay for it when S3 is used.
    if name == "S3Destination":
        from copyengine.backends.s3 import S3Destination

        return S3Destination
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
