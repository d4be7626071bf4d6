"""The per-file engine on real files, a real tmpfs and moto's S3 server: never overwrite,
prove by reading back, tell a bad source from a bad destination, leave nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copyengine import filecopy
from copyengine.backends import CardWriter, LocalDestination
from copyengine.backends.local import LocalPendingCopy
from tests.copyengine.conftest import flip_byte, partial_files, xxh128_bytes

MIB = 1024 * 1024
MTIME_NS = 1_793_615_400_000_000_000


@pytest.fixture
def data() -> bytes:
    return os.urandom(9 * MIB + 123)  # more than one 8 MiB chunk


@pytest.fixture
def source(tmp_path: Path, data: bytes) -> Path:
    """A copy on a volume: <volume>/A001/CLIP/clip.mov."""
    path = tmp_path / "volume" / "A001" / "CLIP" / "clip.mov"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def target(tmp_path: Path) -> Path:
    (tmp_path / "target").mkdir()
    return tmp_path / "target"


@pytest.fixture
def writer(target: Path) -> Iterator[CardWriter]:
    with LocalDestination(target).open_writer("R1") as opened:
        yield opened


def copy(
    tmp_path: Path, writer: CardWriter, expected: str, size: int | None, **kw: Any
) -> filecopy.FileCopied:
    reader = LocalDestination(tmp_path / "volume").open_reader("A001")
    return filecopy.copy_verified(
        reader=reader,
        path="CLIP/clip.mov",
        writer=writer,
        relpath="A001/CLIP/clip.mov",
        expected_xxh128=expected,
        size=size,
        **kw,
    )


def test_copies_and_verifies_from_the_device(
    source: Path, data: bytes, tmp_path: Path, target: Path, writer: CardWriter
) -> None:
    seen = {"copy": 0, "verify": 0}
    result = copy(
        tmp_path,
        writer,
        xxh128_bytes(data),
        len(data),
        mtime_ns=MTIME_NS,
        on_progress=lambda phase, n: seen.__setitem__(phase, seen[phase] + n),
    )
    restored = target / "R1" / "A001" / "CLIP" / "clip.mov"
    assert not result.already_there and result.bytes_copied == len(data)
    assert restored.read_bytes() == data
    assert restored.stat().st_mtime_ns == MTIME_NS
    assert seen == {"copy": len(data), "verify": len(data)}
    assert not partial_files(target)


def test_an_identical_file_at_the_target_is_accepted_without_copying(
    source: Path, data: bytes, tmp_path: Path, target: Path, writer: CardWriter
) -> None:
    existing = target / "R1" / "A001" / "CLIP" / "clip.mov"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(data)
    result = copy(tmp_path, writer, xxh128_bytes(data), len(data))
    assert result.already_there and result.bytes_copied == 0


def test_a_different_file_at_the_target_is_never_overwritten(
    source: Path, data: bytes, tmp_path: Path, target: Path, writer: CardWriter
) -> None:
    existing = target / "R1" / "A001" / "CLIP" / "clip.mov"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"the colourist's own file")
    with pytest.raises(filecopy.DestinationConflictError, match="not overwritten"):
        copy(tmp_path, writer, xxh128_bytes(data), len(data))
    assert existing.read_bytes() == b"the colourist's own file"
    assert not partial_files(target)


def test_a_corrupt_source_is_reported_with_its_hash_and_nothing_is_left(
    source: Path, data: bytes, tmp_path: Path, target: Path, writer: CardWriter
) -> None:
    flip_byte(source, offset=8 * MIB + 5)  # in the second chunk
    with pytest.raises(filecopy.SourceCorruptError) as caught:
        copy(tmp_path, writer, xxh128_bytes(data), len(data))
    assert caught.value.found == xxh128_bytes(source.read_bytes())
    assert "does not match the catalog" in str(caught.value)
    assert [p for p in (target / "R1").rglob("*") if p.is_file()] == []


def test_a_missing_source_is_reported_missing(tmp_path: Path, writer: CardWriter) -> None:
    (tmp_path / "volume" / "A001").mkdir(parents=True)
    with pytest.raises(filecopy.SourceMissingError, match="is missing"):
        copy(tmp_path, writer, "0" * 32, None)


def test_a_full_destination_stops_with_the_place_and_the_remedy(
    source: Path, data: bytes, tmp_path: Path, tmpfs: Any
) -> None:
    small = tmpfs("4m")
    with LocalDestination(small).open_writer("R1") as full_writer:
        with pytest.raises(filecopy.DestinationError) as caught:
            copy(tmp_path, full_writer, xxh128_bytes(data), len(data))
    assert caught.value.reason == "full"
    assert str(small / "R1") in str(caught.value) and "Free space on it" in str(caught.value)
    assert not partial_files(small)


# --- Object storage (moto's server over HTTP) ------------------------------------------


def test_a_copy_in_a_bucket_is_restored_to_a_folder(
    s3: Any, bucket: str, data: bytes, target: Path, writer: CardWriter
) -> None:
    from copyengine.backends.s3 import S3Destination

    s3.put_object(Bucket=bucket, Key="vault/A001/CLIP/clip.mov", Body=data)
    reader = S3Destination(bucket, prefix="vault", client=s3).open_reader("A001")
    seen = {"copy": 0, "verify": 0}
    result = filecopy.copy_verified(
        reader=reader,
        path="CLIP/clip.mov",
        writer=writer,
        relpath="A001/CLIP/clip.mov",
        expected_xxh128=xxh128_bytes(data),
        size=len(data),
        on_progress=lambda phase, n: seen.__setitem__(phase, seen[phase] + n),
    )
    assert result.bytes_copied == len(data) and seen == {"copy": len(data), "verify": len(data)}
    assert (target / "R1" / "A001" / "CLIP" / "clip.mov").read_bytes() == data


def test_a_corrupt_or_missing_object_is_told_apart_from_the_destination(
    s3: Any, bucket: str, data: bytes, target: Path, writer: CardWriter
) -> None:
    from copyengine.backends.s3 import S3Destination

    bad = bytearray(data)
    bad[1234] ^= 0xFF
    s3.put_object(Bucket=bucket, Key="vault/A001/CLIP/clip.mov", Body=bytes(bad))
    reader = S3Destination(bucket, prefix="vault", client=s3).open_reader("A001")
    kw: dict[str, Any] = {"reader": reader, "writer": writer, "expected_xxh128": xxh128_bytes(data)}
    with pytest.raises(filecopy.SourceCorruptError) as caught:
        filecopy.copy_verified(path="CLIP/clip.mov", relpath="A001/clip.mov", size=len(data), **kw)
    assert caught.value.found == xxh128_bytes(bytes(bad))
    with pytest.raises(filecopy.SourceMissingError, match="is missing"):
        filecopy.copy_verified(path="CLIP/other.mov", relpath="A001/other.mov", **kw)
    assert [p for p in (target / "R1").rglob("*") if p.is_file()] == []


def test_a_folder_copy_is_restored_to_a_bucket_and_read_back_from_it(
    s3: Any, bucket: str, source: Path, data: bytes, tmp_path: Path
) -> None:
    from copyengine.backends.s3 import S3Destination

    destination = S3Destination(bucket, prefix="restores", client=s3, part_size=5 * MIB)
    with destination.open_writer("R1") as s3_writer:
        seen = {"copy": 0, "verify": 0}
        result = copy(
            tmp_path,
            s3_writer,
            xxh128_bytes(data),
            len(data),
            on_progress=lambda phase, n: seen.__setitem__(phase, seen[phase] + n),
        )
    assert result.bytes_copied == len(data) and seen == {"copy": len(data), "verify": len(data)}
    # An independent GET: the object holds the bytes.
    assert s3.get_object(Bucket=bucket, Key="restores/R1/A001/CLIP/clip.mov")["Body"].read() == data
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    # A second run finds it there and copies nothing.
    with destination.open_writer("R1") as s3_writer:
        again = copy(tmp_path, s3_writer, xxh128_bytes(data), len(data))
    assert again.already_there


def test_a_bucket_never_loses_an_object_to_a_restore(
    s3: Any, bucket: str, source: Path, data: bytes, tmp_path: Path
) -> None:
    from copyengine.backends.s3 import S3Destination

    key = "restores/R1/A001/CLIP/clip.mov"
    s3.put_object(Bucket=bucket, Key=key, Body=b"someone else's object")
    destination = S3Destination(bucket, prefix="restores", client=s3, part_size=5 * MIB)
    with destination.open_writer("R1") as s3_writer, pytest.raises(filecopy.DestinationConflictError):
        copy(tmp_path, s3_writer, xxh128_bytes(data), len(data))
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"someone else's object"

    # A corrupt source never leaves an object or an open upload behind.
    flip_byte(source, offset=6 * MIB)
    with destination.open_writer("R2") as s3_writer, pytest.raises(filecopy.SourceCorruptError):
        copy(tmp_path, s3_writer, xxh128_bytes(data), len(data))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="restores/R2/")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_read_back_on_its_own_thread_proves_each_file_and_drops_a_bad_one(
    tmp_path: Path, writer: CardWriter, target: Path
) -> None:
    """ProveAhead: file k is read back while k+1 is copied; a file whose stored bytes differ from
    what was written is refused (nothing left under any name), the others are committed."""
    volume = tmp_path / "volume" / "A001"
    contents = {f"CLIP/c{n}.mov": os.urandom(3 * MIB + n) for n in range(3)}
    for relative, data in contents.items():
        (volume / relative).parent.mkdir(parents=True, exist_ok=True)
        (volume / relative).write_bytes(data)
    reader = LocalDestination(tmp_path / "volume").open_reader("A001")
    outcomes: dict[str, BaseException | None] = {}

    def settle(proofs: list[tuple[filecopy.StagedCopy, BaseException | None]]) -> None:
        for staged, error in proofs:
            outcomes[staged.relpath] = error
            if error is None:
                filecopy.staged_commit(staged)

    with filecopy.ProveAhead(depth=1) as prover:
        for relative, data in contents.items():
            staged = filecopy.copy_stage(
                reader=reader,
                path=relative,
                writer=writer,
                relpath=f"A001/{relative}",
                expected_xxh128=xxh128_bytes(data),
                size=len(data),
            )
            assert isinstance(staged, filecopy.StagedCopy)
            if relative == "CLIP/c1.mov":  # the storage changes a byte after it was written
                assert isinstance(staged.pending, LocalPendingCopy)
                flip_byte(staged.pending.temp, offset=4096)
            settle(prover.submit(staged))
            # The bound: once file n is submitted, file n-1's proof is known and n's is not.
            assert len(outcomes) == list(contents).index(relative)
        settle(prover.drain())

    assert outcomes["A001/CLIP/c0.mov"] is None and outcomes["A001/CLIP/c2.mov"] is None
    assert isinstance(outcomes["A001/CLIP/c1.mov"], filecopy.ReadBackMismatchError)
    assert "read back as xxh128" in str(outcomes["A001/CLIP/c1.mov"])
    card = target / "R1" / "A001" / "CLIP"
    assert sorted(p.name for p in card.iterdir()) == ["c0.mov", "c2.mov"]  # no c1, no partial file
    for name in ("c0.mov", "c2.mov"):
        assert xxh128_bytes((card / name).read_bytes()) == xxh128_bytes(contents[f"CLIP/{name}"])
