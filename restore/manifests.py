"""Seed media lists: every file of a shoot day with its checksum, as CSV and as an ASC MHL generation.

A receiving facility (or a future restore from bare drives) checks media
against these lists without access to Reelvault.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from pathlib import Path

from catalog.models import MediaFile
from copyengine import mhl
from restore.services import REELVAULT_VERSION, item_path

CSV_HEADER = ["clip", "path", "size", "xxh128", "md5", "sha1", "mtime", "verified_copies"]


def seed_list_csv(files: Iterable[MediaFile]) -> bytes:
    """One row per file; ``verified_copies`` lists ``volume:path`` of each verified copy."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for media_file in files:
        copies = getattr(media_file, "verified_copies", [])
        writer.writerow(
            [
                media_file.clip.name if media_file.clip else "",
                item_path(media_file),
                media_file.size,
                media_file.xxh128,
                media_file.md5,
                media_file.sha1,
                media_file.mtime.isoformat() if media_file.mtime else "",
                " ".join(f"{c.volume.label}:{c.path}" for c in copies),
            ]
        )
    return out.getvalue().encode("utf-8")


def seed_list_mhl(files: Iterable[MediaFile], *, comment: str) -> bytes:
    """An ASC MHL generation file recording every file's size, date and hashes (no payload is read)."""
    records = []
    for media_file in files:
        hashes = {"xxh128": media_file.xxh128}
        if media_file.md5:
            hashes["md5"] = media_file.md5
        if media_file.sha1:
            hashes["sha1"] = media_file.sha1
        records.append(
            mhl.FileRecord(
                path=item_path(media_file),
                size=media_file.size,
                mtime=media_file.mtime or media_file.created_at,
                hashes=hashes,
            )
        )
    with tempfile.TemporaryDirectory(prefix="reelvault-seed-") as folder:
        generation = mhl.write_generation(
            Path(folder),
            files=records,
            creator=mhl.Creator(tool_version=REELVAULT_VERSION, comment=comment),
            process_type="in-place",
        )
        return generation.read_bytes()
