"""The S3 backend through the real engine, against moto's standalone server.

moto runs as an HTTP server on 127.0.0.1 (ThreadedMotoServer); boto3 talks to
it over the network exactly as to S3, nothing in boto3 is mocked. Truth comes
from the objects themselves, fetched with a separate GET and compared with
the card's bytes.

Run: pytest tests/ingest/test_backends_s3.py
 or: pytest -p no:django --confcutdir=tests/ingest tests/ingest/test_backends_s3.py
"""

from __future__ import annotations

import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from copyengine import fsnames  # noqa: E402
from copyengine.backends import LocalDestination  # noqa: E402
from copyengine.backends.s3 import MAX_PARTS, MTIME_KEY, S3CardWriter, S3Destination, part_size_for  # noqa: E402
from copyengine.offload import CopyStatus, OffloadResult, offload_card, verify_copies  # noqa: E402
from tests.ingest.conftest import write_card, xxh128_file  # noqa: E402

LABEL = "A001"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"reelvault-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def card(tmp_path: Path) -> Path:
    rng = random.Random(42)
    return write_card(
        tmp_path / "card",
        {
            "CLIP/A001C001.mov": rng.randbytes(13 * MIB + 123),  # multipart: 3 parts of 5 MiB
            "CLIP/A001C002.mov": rng.randbytes(700_000),  # one PUT
            "CLIP/sub dir/ü é 名前.wav": rng.randbytes(10_000),
            ".DS_Store": b"\x00\x01",
            "empty.txt": b"",
        },
    )


def card_bytes(card: Path) -> dict[str, bytes]:
    return {p.relative_to(card).as_posix(): p.read_bytes() for p in card.rglob("*") if p.is_file()}


def objects(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix) :]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def open_uploads(s3: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def status_of(result: OffloadResult, destination: str) -> dict[str, CopyStatus]:
    return {
        f.relpath: next(d.status for d in f.destinations if d.destination == destination)
        for f in result.files
    }


def s3_destination(s3: Any, bucket: str, **kw: Any) -> S3Destination:
    return S3Destination(bucket, prefix="projects/FILM", client=s3, name="s3", part_size=5 * MIB, **kw)


PREFIX = f"projects/FILM/{LABEL}/"


def test_offload_to_local_and_s3(card: Path, tmp_path: Path, s3: Any, bucket: str) -> None:
    (tmp_path / "d").mkdir()
    result = offload_card(
        source=card,
        destinations=[LocalDestination(tmp_path / "d", name="local"), s3_destination(s3, bucket)],
        label=LABEL,
    )
    assert result.safe_to_format, result.not_safe_reasons()
    assert set(status_of(result, "s3").values()) == {CopyStatus.VERIFIED}
    assert objects(s3, bucket, PREFIX) == card_bytes(card)  # independent GETs
    assert open_uploads(s3, bucket) == []
    head = s3.head_object(Bucket=bucket, Key=PREFIX + "CLIP/A001C001.mov")
    assert head["Metadata"][MTIME_KEY] == str((card / "CLIP" / "A001C001.mov").stat().st_mtime_ns)
    assert "-3" in head["ETag"]  # really a 3-part multipart upload
    summary = result.destinations[1]
    assert summary.location == f"s3://{bucket}/projects/FILM/{LABEL}"
    assert summary.bytes_written == summary.bytes_verified == result.card_bytes
    assert result.source_bytes_read == result.card_bytes  # one read feeds both destinations


def test_rerun_verifies_existing_objects_without_uploading(card: Path, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert offload_card(source=card, destinations=[s3_destination(s3, bucket)], label=LABEL).safe_to_format
    result = offload_card(source=card, destinations=[s3_destination(s3, bucket)], label=LABEL)
    assert result.safe_to_format
    assert set(status_of(result, "s3").values()) == {CopyStatus.SKIPPED_EXISTING_VERIFIED}
    assert result.destinations[0].bytes_written == 0
    versions = s3.list_object_versions(Bucket=bucket, Prefix=PREFIX).get("Versions", [])
    assert len(versions) == len(card_bytes(card))  # one version each: nothing uploaded twice


@pytest.mark.parametrize("size", ["same", "different"])
def test_existing_different_object_is_a_conflict_and_kept(
    card: Path, s3: Any, bucket: str, size: str
) -> None:
    relpath = "CLIP/A001C002.mov"
    theirs = b"x" * ((card / relpath).stat().st_size if size == "same" else 10)
    s3.put_object(Bucket=bucket, Key=PREFIX + relpath, Body=theirs)
    result = offload_card(source=card, destinations=[s3_destination(s3, bucket)], label=LABEL)
    st = status_of(result, "s3")
    assert st[relpath] is CopyStatus.CONFLICT
    assert s3.get_object(Bucket=bucket, Key=PREFIX + relpath)["Body"].read() == theirs
    assert {k for k, v in st.items() if v is CopyStatus.VERIFIED} == set(card_bytes(card)) - {relpath}
    assert not result.safe_to_format


def test_object_created_after_listing_is_not_overwritten(card: Path, s3: Any, bucket: str) -> None:
    """If-None-Match: the key appears between the listing and the upload."""
    intruders = {"CLIP/A001C001.mov": b"big one by someone else", "CLIP/A001C002.mov": b"small one"}
    done = []

    def on_progress(_: object) -> None:
        if not done:  # first snapshot: destinations are open (listed), nothing uploaded yet
            done.append(True)
            for relpath, data in intruders.items():
                s3.put_object(Bucket=bucket, Key=PREFIX + relpath, Body=data)

    result = offload_card(
        source=card, destinations=[s3_destination(s3, bucket)], label=LABEL, on_progress=on_progress
    )
    st = status_of(result, "s3")
    for relpath, data in intruders.items():  # multipart completion and single PUT are both conditional
        assert st[relpath] is CopyStatus.CONFLICT
        assert s3.get_object(Bucket=bucket, Key=PREFIX + relpath)["Body"].read() == data
    assert open_uploads(s3, bucket) == []
    assert not result.safe_to_format


class CorruptInFlight(S3Destination):
    """Flips a byte of ``victim`` on its way to S3, ``times`` times: S3 then
    stores bad bytes under a valid ETag, and only reading back can tell."""

    def __init__(self, *args: Any, victim: str, times: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.victim, self.times = victim, times

    def open_writer(self, label: str) -> S3CardWriter:
        writer = super().open_writer(label)
        begin = writer.begin

        def corrupting_begin(relpath: str, *, size: int, mtime_ns: int) -> Any:
            pending = begin(relpath, size=size, mtime_ns=mtime_ns)
            if relpath == self.victim and self.times > 0:
                self.times -= 1
                write, first = pending.write, [True]

                def bad_write(chunk: memoryview) -> None:
                    if first:
                        first.clear()
                        data = bytearray(chunk)
                        data[len(data) // 2] ^= 0xFF
                        chunk = memoryview(data)
                    write(chunk)

                pending.write = bad_write  # type: ignore[method-assign]
            return pending

        writer.begin = corrupting_begin  # type: ignore[method-assign]
        return writer


@pytest.mark.parametrize("victim", ["CLIP/A001C001.mov", "CLIP/A001C002.mov"])
def test_corrupted_upload_is_caught_deleted_and_retried(
    card: Path, s3: Any, bucket: str, victim: str
) -> None:
    dest = CorruptInFlight(
        bucket, prefix="projects/FILM", client=s3, name="s3", part_size=5 * MIB, victim=victim, times=1
    )
    result = offload_card(source=card, destinations=[dest], label=LABEL)
    f = next(f for f in result.files if f.relpath == victim)
    assert (f.destinations[0].status, f.destinations[0].attempts) == (CopyStatus.VERIFIED, 2)
    assert objects(s3, bucket, PREFIX) == card_bytes(card)
    assert result.safe_to_format


def test_corrupted_twice_fails_and_leaves_no_object(card: Path, s3: Any, bucket: str) -> None:
    victim = "CLIP/A001C001.mov"
    dest = CorruptInFlight(
        bucket, prefix="projects/FILM", client=s3, name="s3", part_size=5 * MIB, victim=victim, times=2
    )
    result = offload_card(source=card, destinations=[dest], label=LABEL)
    status = status_of(result, "s3")
    assert status[victim] is CopyStatus.FAILED
    stored = objects(s3, bucket, PREFIX)
    assert victim not in stored  # the unverified object this run created was removed
    assert stored == {k: v for k, v in card_bytes(card).items() if k != victim}
    assert open_uploads(s3, bucket) == []
    assert not result.safe_to_format


def test_object_replaced_between_upload_and_verification_is_not_ours_to_delete(
    card: Path, s3: Any, bucket: str
) -> None:
    victim, theirs = "CLIP/A001C001.mov", b"another writer replaced it"

    class Racing(S3Destination):
        def open_writer(self, label: str) -> S3CardWriter:
            writer = super().open_writer(label)
            make_durable = writer.make_durable

            def racing(pendings: Any) -> Any:  # runs after the uploads, before the read-back
                s3.put_object(Bucket=bucket, Key=PREFIX + victim, Body=theirs)
                return make_durable(pendings)

            writer.make_durable = racing  # type: ignore[method-assign]
            return writer

    dest = Racing(bucket, prefix="projects/FILM", client=s3, name="s3", part_size=5 * MIB)
    result = offload_card(source=card, destinations=[dest], label=LABEL)
    f = next(f for f in result.files if f.relpath == victim)
    assert f.destinations[0].status is CopyStatus.FAILED
    assert "replaced by another writer" in f.destinations[0].message
    assert s3.get_object(Bucket=bucket, Key=PREFIX + victim)["Body"].read() == theirs  # not deleted
    assert not result.safe_to_format


def test_leftover_multipart_uploads_of_a_killed_run_are_aborted(card: Path, s3: Any, bucket: str) -> None:
    key = PREFIX + "CLIP/A001C001.mov"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 5 * MIB)
    other = s3.create_multipart_upload(Bucket=bucket, Key="elsewhere/file")  # not ours: kept
    result = offload_card(source=card, destinations=[s3_destination(s3, bucket)], label=LABEL)
    assert result.destinations[0].removed_leftovers == ("CLIP/A001C001.mov",)
    assert open_uploads(s3, bucket) == ["elsewhere/file"]
    assert result.safe_to_format
    s3.abort_multipart_upload(Bucket=bucket, Key="elsewhere/file", UploadId=other["UploadId"])


def test_bucket_deleted_mid_offload_fails_only_that_destination(
    card: Path, tmp_path: Path, s3: Any, bucket: str
) -> None:
    (tmp_path / "d").mkdir()
    dest = s3_destination(s3, bucket)
    deleted = []

    def on_file(_: object) -> None:
        if not deleted:
            deleted.append(True)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=obj["Key"])
            s3.delete_bucket(Bucket=bucket)

    result = offload_card(
        source=card,
        destinations=[LocalDestination(tmp_path / "d", name="local"), dest],
        label=LABEL,
        batch_files=1,
        on_file=on_file,
    )
    failure = result.destinations[1].failure or ""
    assert bucket in failure and "NoSuchBucket" in failure, failure
    st = status_of(result, "s3")
    assert list(st.values()).count(CopyStatus.VERIFIED) == 1  # the file done before the deletion
    assert set(list(st.values())[1:]) == {CopyStatus.FAILED}
    assert set(status_of(result, "local").values()) == {CopyStatus.VERIFIED}
    assert not result.safe_to_format


def test_unreachable_endpoint_fails_fast(card: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    (tmp_path / "d").mkdir()
    result = offload_card(
        source=card,
        destinations=[
            LocalDestination(tmp_path / "d", name="local"),
            S3Destination("b", client=client, name="s3"),
        ],
        label=LABEL,
    )
    assert "unreachable" in (result.destinations[1].failure or "")
    assert set(status_of(result, "local").values()) == {CopyStatus.VERIFIED}


def test_verify_copies_on_s3_catches_changed_and_missing_objects(card: Path, s3: Any, bucket: str) -> None:
    dest = s3_destination(s3, bucket)
    assert offload_card(source=card, destinations=[dest], label=LABEL).safe_to_format
    known = {rel: {"xxh128": xxh128_file(card / rel)} for rel in card_bytes(card)}
    assert verify_copies(destination=dest, label=LABEL, expected=known).all_ok

    s3.put_object(Bucket=bucket, Key=PREFIX + "CLIP/A001C002.mov", Body=b"rotten")
    s3.delete_object(Bucket=bucket, Key=PREFIX + ".DS_Store")
    report = verify_copies(destination=dest, label=LABEL, expected=known)
    assert {(c.relpath, c.status) for c in report.problems} == {
        ("CLIP/A001C002.mov", "mismatch"),
        (".DS_Store", "missing"),
    }


def test_part_size_keeps_huge_files_under_the_part_limit() -> None:
    for size in (0, 5 * MIB, 80 * 1024 * MIB, 5 * 1024**4):
        part = part_size_for(size)
        assert part >= 8 * MIB and part % MIB == 0
        assert -(-size // part) < MAX_PARTS


def test_non_utf8_name_is_copied_under_its_catalog_name(tmp_path: Path, s3: Any, bucket: str) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "ok.mov").write_bytes(b"fine")
    bad = card / "bad\udcff.mov"  # a Latin-1 byte name from an old camera: not UTF-8
    try:
        bad.write_bytes(b"data")
    except (UnicodeEncodeError, OSError):
        pytest.skip("file system refuses non-UTF-8 names")
    result = offload_card(source=card, destinations=[s3_destination(s3, bucket)], label=LABEL)
    st = status_of(result, "s3")
    assert st["ok.mov"] is CopyStatus.VERIFIED
    # The byte 0xFF is kept as U+EFFF (copyengine/fsnames.py): a valid key that maps back to it.
    assert st[fsnames.from_fs("bad\udcff.mov")] is CopyStatus.VERIFIED
    assert fsnames.to_fs(fsnames.from_fs("bad\udcff.mov")) == "bad\udcff.mov"
    assert result.safe_to_format
