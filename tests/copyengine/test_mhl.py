"""copyengine.mhl against real ASC MHL v2 / MHL v1 files and against the ASC reference tool.

No database. Runs under pytest-django or with ``--noconftest -p no:django``.
Expected values below were read from the sample files themselves (see
../shared/samples/mhl and its SOURCES.md), not produced by copyengine.mhl.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from copyengine import mhl
from copyengine.hashing import hash_file

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MHL_SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "mhl"
V2 = MHL_SAMPLES / "ascmhl_v2"
V1 = MHL_SAMPLES / "mhl_v1"
TOOLS = PROJECT_ROOT / ".venv-tools" / "bin"
# The reference tool checks GitHub for updates at every start; a closed port makes that fail at once.
TOOL_ENV = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}

CREATOR = mhl.Creator(
    tool_version="0.1.0",
    hostname="loader-01",
    authors=(mhl.Author("Jo Loader", email="jo@example.com", role="DIT"),),
)
T0 = datetime(2026, 3, 2, 9, 15, 0, tzinfo=UTC)

needs_samples = pytest.mark.skipif(not MHL_SAMPLES.is_dir(), reason="../shared/samples/mhl is not present")
needs_tool = pytest.mark.skipif(
    not (TOOLS / "ascmhl-debug").exists(), reason="ASC reference tool (.venv-tools) is not installed"
)


# --- helpers ----------------------------------------------------------------


def copy_tree(source: Path, target: Path) -> Path:
    """Copy a (read-only) sample folder into tmp_path and make the copy writable."""
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def make_card(root: Path, files: dict[str, bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def records(root: Path, algorithms: tuple[str, ...] = ("xxh128",)) -> list[mhl.FileRecord]:
    """What the copy engine hands to write_generation: every payload file, hashed."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "ascmhl" not in path.relative_to(root).parts:
            stat = path.stat()
            found.append(
                mhl.FileRecord(
                    path.relative_to(root).as_posix(),
                    stat.st_size,
                    datetime.fromtimestamp(stat.st_mtime, UTC),
                    hash_file(path, algorithms),
                )
            )
    return found


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def status_of(report: mhl.VerifyReport) -> dict[str, mhl.FileStatus]:
    return {check.path: check.status for check in report.files}


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    tool, *rest = args
    return subprocess.run(
        [str(TOOLS / str(tool)), *map(str, rest)],
        env=TOOL_ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


CARD_FILES = {
    "Clips/A001C001_260302_R1AB.mov": b"frame data " * 50,
    "Clips/A001C002_260302_R1AB.mov": b"more frames " * 70,
    "Sound Roll/Szene 1 Ä 日本.wav": b"RIFF audio",
    "Notes & <Reports>/camera report.pdf": b"%PDF-1.7",
}


@pytest.fixture
def a001(tmp_path: Path) -> Path:
    """Card folder A001R1AB, no history yet; names with spaces, non-ASCII and XML special characters."""
    return make_card(tmp_path / "A001R1AB", CARD_FILES)


@pytest.fixture(autouse=True)
def cold_cache() -> Iterator[None]:
    """Each test starts without parsed generations from another test."""
    mhl.clear_parse_cache()
    yield
    mhl.clear_parse_cache()


# --- ASC MHL v2 samples -----------------------------------------------------


@needs_samples
def test_scenario_03_second_generation_adds_md5() -> None:
    history = mhl.read_history(V2 / "scenario_03_md5_added" / "A002R2EC")

    assert [g.sequence_number for g in history.generations] == [1, 2]
    assert [g.file_name for g in history.generations] == [
        "0001_A002R2EC_2020-01-16_091500Z.mhl",
        "0002_A002R2EC_2020-01-17_143000Z.mhl",
    ]
    first, second = history.generations
    assert first.creator == mhl.CreatorInfo(
        datetime(2020, 1, 16, 9, 15, tzinfo=UTC), "myHost.local", "ascmhl.py", "0.3 alpha"
    )
    assert first.process.process_type == "in-place"
    assert first.process.ignore_patterns == (".DS_Store", "ascmhl", "ascmhl/")
    assert first.process.root_hash == (
        mhl.DirectoryHashValue(
            "xxh64", "8d02114c32e28cbe", "f557f8ca8e5a88ef", datetime(2020, 1, 16, 9, 15, tzinfo=UTC)
        ),
    )
    assert [(d.path, d.hashes[0].content, d.hashes[0].structure) for d in first.directory_hashes] == [
        ("Clips", "4c226b42e27d7af3", "906faa843d591a9f")
    ]
    sidecar = next(e for e in first.hashes if e.path == "Sidecar.txt")
    assert sidecar.size == 58
    assert sidecar.last_modification_date == datetime(2020, 1, 15, 13, 0, tzinfo=UTC)
    assert [(h.format, h.value, h.action) for h in sidecar.hashes] == [
        ("xxh64", "3ab5a4166b9bde44", mhl.HashAction.ORIGINAL)
    ]
    # Generation 2 re-verifies xxh64 and adds md5 (which the reference tool records as "verified").
    assert {e.path: {h.format: h.action for h in e.hashes} for e in second.hashes} == {
        path: {"md5": mhl.HashAction.VERIFIED, "xxh64": mhl.HashAction.VERIFIED}
        for path in ("Clips/A002C006_141024_R2EC.mov", "Clips/A002C007_141024_R2EC.mov", "Sidecar.txt")
    }
    assert history.reference_hashes()["Clips/A002C007_141024_R2EC.mov"] == {
        "xxh64": "7680e5f98f4a80fd",
        "md5": "614dd0e977becb4c6f7fa99e64549b12",
    }
    assert history.all_problems() == []


@needs_samples
def test_scenario_04_records_a_failed_verification_of_the_sidecar() -> None:
    history = mhl.read_history(V2 / "scenario_04_hash_mismatch" / "A002R2EC")

    second = history.generations[1]
    actions = {e.path: [(h.value, h.action) for h in e.hashes] for e in second.hashes}
    assert actions["Sidecar.txt"] == [("70d2cf31aaa3eac4", mhl.HashAction.FAILED)]
    assert actions["Clips/A002C006_141024_R2EC.mov"] == [("0ea03b369a463d9d", mhl.HashAction.VERIFIED)]
    assert next(e for e in second.hashes if e.path == "Sidecar.txt").size == 60
    # The value to check against stays the original one, not what the damaged file hashed to.
    assert history.reference_hashes()["Sidecar.txt"] == {"xxh64": "3ab5a4166b9bde44"}
    assert history.all_problems() == []


@needs_samples
def test_scenario_05_parent_references_nested_generations_that_the_sample_does_not_ship() -> None:
    history = mhl.read_history(V2 / "scenario_05_nested" / "Reels")

    (generation,) = history.generations
    assert [r.path for r in generation.references] == [
        "A002R2EC/ascmhl/0002_A002R2EC_2020-01-17_143000Z.mhl",
        "A003R2EC/ascmhl/0002_A003R2EC_2020-01-17_143000Z.mhl",
    ]
    assert generation.references[0].c4.startswith("c45kfAU9bNHnT32pMzSdio6Qb7us3xkd65ff8uAvJcgdkpo")
    assert [d.path for d in generation.directory_hashes] == ["A002R2EC", "A003R2EC"]
    assert [(e.path, e.size) for e in generation.hashes] == [("Summary.txt", 48)]
    assert history.children == ()
    problems = history.all_problems()
    assert [p.kind for p in problems] == [mhl.ChainProblemKind.MISSING_CHILD] * 2
    assert "A003R2EC/ascmhl/0002_A003R2EC_2020-01-17_143000Z.mhl" in problems[1].message


@needs_samples
def test_hand_written_xsd_example_parses_and_its_made_up_chain_id_is_reported(tmp_path: Path) -> None:
    # The example keeps its files flat; give them the ascmhl/ layout a history has.
    root = tmp_path / "TEST01"
    copy_tree(V2 / "xsd_example", root / "ascmhl")

    history = mhl.read_history(root)

    (generation,) = history.generations
    creator = generation.creator
    assert creator.creation_date == datetime(2019, 10, 11, 13, 56, 3, tzinfo=UTC)
    assert creator.authors == (
        mhl.Author("Liz Foo", "foo@bar.foo.foo.com", "+1 234 567 890 88"),
        mhl.Author("Ben Zed", "zed@bar.foo.foo.com", "+1 234 567 890 99"),
    )
    assert creator.location == "Munich, Germany"
    assert generation.process.ignore_patterns == ("*.DS_Store", "/tmp")
    assert generation.process.root_hash[0].format == "c4"
    sidecar = generation.hashes[2]
    assert (sidecar.path, sidecar.hashes[0].action, sidecar.hashes[0].hash_date) == (
        "Sidecar.txt",
        mhl.HashAction.FAILED,
        None,
    )
    assert generation.directory_hashes[0].path == "Clips"
    assert generation.directory_hashes[0].hashes[0].structure == "8f4a80fd7680e5f9"
    kinds = sorted(p.kind for p in history.all_problems())
    # Its chain entry repeats the root hash instead of the file's C4 id; its references are made up.
    assert kinds == [mhl.ChainProblemKind.MISSING_CHILD] * 2 + [mhl.ChainProblemKind.MODIFIED]


@needs_samples
def test_c4_ids_match_the_ones_the_reference_tool_wrote_into_the_chains() -> None:
    folder = V2 / "scenario_04_hash_mismatch" / "A002R2EC" / "ascmhl"
    assert mhl.c4_id((folder / "0001_A002R2EC_2020-01-16_091500Z.mhl").read_bytes()) == (
        "c43qQABrjeiU3kteaNFtgwufQRLKxgMJEZfNSj6LcZ8fKwB568U8As9eScRsnb64NfqiAYzjNUXs81tAxPB77PUThb"
    )
    assert mhl.c4_id((folder / "0002_A002R2EC_2020-01-17_143000Z.mhl").read_bytes()) == (
        "c444PGVUrtKnV3Gg3JeoUquS3Yjzz2aipSy81eLJgLSGCFJCkqSJ5hp9sJxDY97DmsMycSg9YRx7gcfrSK2j9f1AWK"
    )
    assert len(mhl.c4_id(b"")) == 90


@needs_samples
def test_verify_scenario_03_payloads_are_ok_in_each_recorded_format() -> None:
    root = V2 / "scenario_03_md5_added" / "A002R2EC"

    fastest = mhl.verify_folder(root)
    both = mhl.verify_folder(root, algorithms=["md5", "xxh64"])

    assert fastest.ok and both.ok
    assert fastest.counts() == {mhl.FileStatus.OK: 3}
    assert fastest.files[0].expected == {"xxh64": "0ea03b369a463d9d"}
    sidecar = both.files[2]
    assert sidecar.path == "Sidecar.txt"
    assert sidecar.actual == {"md5": "6425c5a180ca0f420dd2b25be4536a91", "xxh64": "3ab5a4166b9bde44"}


@needs_samples
def test_verify_scenario_04_still_flags_the_sidecar_that_the_history_recorded_as_failed() -> None:
    # The failed record holds what the damaged file hashed to; checking against it would call the
    # damaged file "ok". The file must be checked against its original hash, as the reference tool does.
    report = mhl.verify_folder(V2 / "scenario_04_hash_mismatch" / "A002R2EC")

    assert not report.ok
    assert status_of(report) == {
        "Clips/A002C006_141024_R2EC.mov": mhl.FileStatus.OK,
        "Clips/A002C007_141024_R2EC.mov": mhl.FileStatus.OK,
        "Sidecar.txt": mhl.FileStatus.MISMATCH,
    }
    sidecar = report.with_status(mhl.FileStatus.MISMATCH)[0]
    assert sidecar.expected == {"xxh64": "3ab5a4166b9bde44"}
    assert sidecar.actual == {"xxh64": "70d2cf31aaa3eac4"}
    assert sidecar.recorded_failure


@needs_samples
def test_verify_scenario_05_reports_the_missing_summary_and_missing_nested_histories() -> None:
    report = mhl.verify_folder(V2 / "scenario_05_nested" / "Reels")

    assert status_of(report) == {"Summary.txt": mhl.FileStatus.MISSING}
    assert [p.kind for p in report.problems] == [mhl.ChainProblemKind.MISSING_CHILD] * 2


# --- legacy MHL v1 ----------------------------------------------------------

# Canonical xxh64 (big-endian hex, as xxhash.hexdigest() prints it) of verify_set/file0..2.txt.
XXH64 = {"file0.txt": "f61411669ed938e3", "file1.txt": "5f22194572ae31c5", "file2.txt": "5a04ee7b661ee56d"}
XXH32_DECIMAL = (3204945916, 2253396016, 1846681932)


@needs_samples
@pytest.mark.parametrize(
    ("mhl_file", "format_", "expected"),
    [
        # xxhash.mhl writes the 32-bit values in decimal
        ("xxhash.mhl", "xxh32", {f"file{i}.txt": f"{n:08x}" for i, n in enumerate(XXH32_DECIMAL)}),
        ("xxhash64.mhl", "xxh64", XXH64),  # mhl-tool wrote these bytes little-endian
        ("xxhash64be.mhl", "xxh64", XXH64),
    ],
)
def test_v1_xxhash_variants_read_as_canonical_hex_and_verify(
    mhl_file: str, format_: str, expected: dict[str, str]
) -> None:
    entries = mhl.read_mhl_v1(V1 / "verify_set" / mhl_file)

    assert {e.file: e.hashes for e in entries} == {name: {format_: value} for name, value in expected.items()}
    report = mhl.verify_mhl_v1(V1 / "verify_set" / mhl_file)
    assert report.ok
    assert report.counts() == {mhl.FileStatus.OK: 3}


@needs_samples
def test_v1_multiple_hashes_all_checked_so_wrong_md5_values_are_caught() -> None:
    # multiple.mhl gives file1 and file2 the md5 of file0 (mhl-tool only checks one hash per file
    # and so accepts it); their sha1/xxhash64be values are right.
    entries = {e.file: e for e in mhl.read_mhl_v1(V1 / "verify_set" / "multiple.mhl")}
    assert entries["file0.txt"].hashes == {
        "sha1": "64b18391ceb254455bc3dfe1200cbfa134fa1a3f",
        "md5": "91cae4eeb20d47ca70abbbf058a74e80",
    }
    assert entries["file0.txt"].last_modification_date == datetime(2016, 4, 18, 14, 45, 25, tzinfo=UTC)

    report = mhl.verify_mhl_v1(V1 / "verify_set" / "multiple.mhl")

    assert status_of(report) == {
        "file0.txt": mhl.FileStatus.OK,
        "file1.txt": mhl.FileStatus.MISMATCH,
        "file2.txt": mhl.FileStatus.MISMATCH,
    }
    file2 = report.files[2]
    assert file2.actual["sha1"] == file2.expected["sha1"]
    assert file2.actual["xxh64"] == file2.expected["xxh64"] == XXH64["file2.txt"]
    assert file2.actual["md5"] != file2.expected["md5"]
    assert "md5" in file2.message


@needs_samples
def test_v1_null_hash_promises_existence_only() -> None:
    entries = mhl.read_mhl_v1(V1 / "verify_set" / "null.mhl")
    assert [(e.file, e.size, e.hashes) for e in entries] == [
        ("file0.txt", 555, {}),
        ("file1.txt", 305, {}),
        ("file2.txt", 218, {}),
    ]
    report = mhl.verify_mhl_v1(V1 / "verify_set" / "null.mhl")
    assert report.counts() == {mhl.FileStatus.UNVERIFIABLE: 3}


@needs_samples
def test_v1_verify_detects_a_flipped_byte_and_a_missing_file(tmp_path: Path) -> None:
    folder = copy_tree(V1 / "verify_set", tmp_path / "verify_set")
    flip_byte(folder / "file1.txt", offset=100)
    (folder / "file2.txt").unlink()

    report = mhl.verify_mhl_v1(folder / "xxhash64be.mhl")

    assert status_of(report) == {
        "file0.txt": mhl.FileStatus.OK,
        "file1.txt": mhl.FileStatus.MISMATCH,
        "file2.txt": mhl.FileStatus.MISSING,
    }


@needs_samples
@pytest.mark.parametrize(
    ("file_name", "count", "expected_file"),
    [
        ("aux_files_2012-12-01_183454.mhl", 2, "hash-list1.txt"),
        ("aux_files_euc-jp_macln_Japanese_2012-12-15_180223.mhl", 2, "日本人_dir/日本語ファ_イル.txt"),
        (
            "aux_files_iso-8859-15_unixln_Umlaute_2012-12-15_174005.mhl",
            3,
            "Umlaute_und_so_weiter_dir/Kölner_Dom.avi",
        ),
        (
            "aux_files_utf-16le_macln_mixed_2012-12-14_165427.mhl",
            14,
            "mixed_корейский_한국의_dir/ملف_باللغة_العربية",
        ),
        ("aux_files_windows-1251_winln_Russian_2012-12-14_170634.mhl", 2, "русский_dir/матрёшка.txt"),
    ],
)
def test_v1_text_encodings_give_the_right_file_names(file_name: str, count: int, expected_file: str) -> None:
    entries = mhl.read_mhl_v1(V1 / "encodings" / file_name)

    assert len(entries) == count
    entry = next(e for e in entries if e.file == expected_file)
    assert entry.size == 277
    assert entry.hashes == {"md5": "d29593e2cf81c621fb3c4089f9bbde4a"}
    # mhlcreate wrote dates as "2012-12-14 16-21-49", without a zone.
    assert entry.last_modification_date is not None
    assert entry.last_modification_date.tzinfo is None
    assert entry.last_modification_date.year == 2012


@needs_samples
def test_v1_zoneless_mhlcreate_dates_read_as_naive_datetimes() -> None:
    entries = mhl.read_mhl_v1(V1 / "encodings" / "aux_files_windows-1251_winln_Russian_2012-12-14_170634.mhl")
    assert entries[0].last_modification_date == datetime(2012, 12, 14, 16, 21, 49)  # noqa: DTZ001
    assert entries[0].hash_date == datetime(2012, 12, 14, 17, 6, 34)  # noqa: DTZ001


# --- writing ----------------------------------------------------------------


def test_actions_follow_the_history(a001: Path) -> None:
    first = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    second = mhl.write_generation(
        a001, files=records(a001, ("xxh128", "md5")), creator=CREATOR, now=T0 + timedelta(hours=1)
    )

    history = mhl.read_history(a001)
    assert [g.file for g in history.generations] == [first, second]
    gen1, gen2 = history.generations
    assert {h.action for e in gen1.hashes for h in e.hashes} == {mhl.HashAction.ORIGINAL}
    for entry in gen2.hashes:
        # xxh128 matched its record; md5 is new for the file, so it is its first (original) record.
        assert {h.format: h.action for h in entry.hashes} == {
            "md5": mhl.HashAction.ORIGINAL,
            "xxh128": mhl.HashAction.VERIFIED,
        }


def test_a_damaged_copy_is_recorded_as_failed_and_never_becomes_the_reference(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    good = {r.path: r for r in records(a001)}
    flip_byte(a001 / "Clips/A001C002_260302_R1AB.mov")
    damaged = records(a001, ("xxh128", "sha1"))

    mhl.write_generation(a001, files=damaged, creator=CREATOR, now=T0 + timedelta(hours=1))

    history = mhl.read_history(a001)
    actions = {e.path: {h.format: h.action for h in e.hashes} for e in history.generations[1].hashes}
    # sha1 is new for the file, but it hashes damaged content: failed too, not original.
    assert actions["Clips/A001C002_260302_R1AB.mov"] == {
        "sha1": mhl.HashAction.FAILED,
        "xxh128": mhl.HashAction.FAILED,
    }
    assert actions["Clips/A001C001_260302_R1AB.mov"]["sha1"] == mhl.HashAction.ORIGINAL
    reference = history.reference_hashes()["Clips/A001C002_260302_R1AB.mov"]
    assert reference == {"xxh128": good["Clips/A001C002_260302_R1AB.mov"].hashes["xxh128"]}
    report = mhl.verify_folder(a001)
    assert status_of(report)["Clips/A001C002_260302_R1AB.mov"] is mhl.FileStatus.MISMATCH
    assert report.with_status(mhl.FileStatus.MISMATCH)[0].recorded_failure


def test_a_known_file_must_bring_a_hash_format_its_history_has(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001, ("md5",)), creator=CREATOR, now=T0)

    with pytest.raises(mhl.MHLError, match=r"records Clips/A001C001_260302_R1AB\.mov with md5 only"):
        mhl.write_generation(a001, files=records(a001, ("xxh128",)), creator=CREATOR)
    assert len(mhl.read_history(a001).generations) == 1


def test_a_file_new_in_a_later_generation_is_original(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    make_card(a001, {"Clips/A001C003_260302_R1AB.mov": b"late clip"})

    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0 + timedelta(minutes=5))

    latest = mhl.read_history(a001).generations[-1]
    actions = {e.path: e.hashes[0].action for e in latest.hashes}
    assert actions["Clips/A001C003_260302_R1AB.mov"] is mhl.HashAction.ORIGINAL
    assert actions["Clips/A001C001_260302_R1AB.mov"] is mhl.HashAction.VERIFIED


def test_file_names_chain_and_durable_write(a001: Path) -> None:
    path = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0 + timedelta(seconds=1))

    assert path.name == "0001_A001R1AB_2026-03-02_091500Z.mhl"
    folder = a001 / "ascmhl"
    assert sorted(p.name for p in folder.iterdir()) == [
        "0001_A001R1AB_2026-03-02_091500Z.mhl",
        "0002_A001R1AB_2026-03-02_091501Z.mhl",
        "ascmhl_chain.xml",
    ]  # and no temporary files left behind
    chain = (folder / "ascmhl_chain.xml").read_text()
    assert '<hashlist sequencenr="2">' in chain
    assert mhl.c4_id(path.read_bytes()) in chain
    assert mhl.read_history(a001).generations[0].creator == mhl.CreatorInfo(
        T0, "loader-01", "Reelvault", "0.1.0", CREATOR.authors
    )


def test_a_written_generation_parses_back_to_exactly_what_was_cached(a001: Path) -> None:
    # write_generation caches the Generation it serialised instead of parsing its own output;
    # that is only right if parsing the file gives an equal object.
    make_card(a001, {" leading space.mov": b"a", "trailing space .mov": b"b", 'quote".mov': b"c"})
    creator = mhl.Creator(
        tool_version='1.0 "beta" & more',
        hostname="host <1>",
        authors=(mhl.Author("Ana", phone="+49 1"), mhl.Author("Bo", email="bo@example.org", role="Loader")),
        location="Stage 5\nBackroom",
        comment="Day 3 & 4",
    )
    mhl.write_generation(a001, files=records(a001, ("xxh128", "md5", "sha1")), creator=creator, now=T0)
    cached = mhl.read_history(a001).generations[0]

    mhl.clear_parse_cache()
    parsed = mhl.read_history(a001).generations[0]

    assert parsed == cached
    assert parsed is not cached
    assert {e.path for e in parsed.hashes} >= {" leading space.mov", "trailing space .mov", 'quote".mov'}
    assert parsed.creator.location == "Stage 5\nBackroom"


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (mhl.FileRecord("../escape.mov", 1, T0, {"xxh128": "00"}), "relative posix file path"),
        (mhl.FileRecord("/abs.mov", 1, T0, {"xxh128": "00"}), "relative posix file path"),
        (mhl.FileRecord("Clips//a.mov", 1, T0, {"xxh128": "00"}), "relative posix file path"),
        (mhl.FileRecord("x/ascmhl/a.mhl", 1, T0, {"xxh128": "00"}), "inside an ascmhl folder"),
        (mhl.FileRecord("a.mov", 1, datetime(2026, 1, 1), {"xxh128": "00"}), "timezone-aware"),  # noqa: DTZ001
        (mhl.FileRecord("a.mov", 1, T0, {"crc32": "00"}), "unknown hash format"),
        (mhl.FileRecord("a.mov", 1, T0, {"md5": "not hex"}), "malformed"),
        (mhl.FileRecord("a.mov", 1, T0, {"c4": "c4<injected/>"}), "malformed"),
        (mhl.FileRecord("a.mov", 1, T0, {}), "no hashes"),
    ],
)
def test_malformed_records_are_refused_before_anything_is_written(
    tmp_path: Path, record: mhl.FileRecord, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        mhl.write_generation(tmp_path, files=[record], creator=CREATOR)
    assert not (tmp_path / "ascmhl").exists()


def test_argument_errors(tmp_path: Path) -> None:
    record = mhl.FileRecord("a.mov", 1, T0, {"xxh128": "00"})
    with pytest.raises(ValueError, match="listed twice"):
        mhl.write_generation(tmp_path, files=[record, record], creator=CREATOR)
    with pytest.raises(ValueError, match="files is empty"):
        mhl.write_generation(tmp_path, files=[], creator=CREATOR)
    with pytest.raises(ValueError, match="e-mail"):
        mhl.write_generation(
            tmp_path, files=[record], creator=mhl.Creator("1", authors=(mhl.Author("x", email="nope"),))
        )
    with pytest.raises(ValueError, match="process_type"):
        mhl.write_generation(tmp_path, files=[record], creator=CREATOR, process_type="copy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="algorithms"):
        mhl.verify_folder(tmp_path, algorithms=["crc32"])


# --- verifying --------------------------------------------------------------


def test_verify_reports_new_missing_and_changed_files_and_honours_ignores(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    make_card(a001, {"Clips/extra.mov": b"x", "Clips/.DS_Store": b"finder"})
    (a001 / "Sound Roll/Szene 1 Ä 日本.wav").unlink()
    flip_byte(a001 / "Notes & <Reports>/camera report.pdf")

    report = mhl.verify_folder(a001)

    assert status_of(report) == {
        "Clips/A001C001_260302_R1AB.mov": mhl.FileStatus.OK,
        "Clips/A001C002_260302_R1AB.mov": mhl.FileStatus.OK,
        "Clips/extra.mov": mhl.FileStatus.NEW,
        "Notes & <Reports>/camera report.pdf": mhl.FileStatus.MISMATCH,
        "Sound Roll/Szene 1 Ä 日本.wav": mhl.FileStatus.MISSING,
    }
    assert not report.ok


def test_verify_in_a_format_the_history_lacks_is_unverifiable(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)

    report = mhl.verify_folder(a001, algorithms=["sha1"], workers=2)

    assert report.counts() == {mhl.FileStatus.UNVERIFIABLE: 4}
    assert "it has xxh128" in report.files[0].message


def test_nested_history_owns_its_files_and_is_referenced_by_the_parent(tmp_path: Path) -> None:
    day = make_card(tmp_path / "Day03", {"Report.pdf": b"day report"})
    card = make_card(day / "A001R1AB", CARD_FILES)
    mhl.write_generation(card, files=records(card), creator=CREATOR, now=T0)

    root_file = mhl.write_generation(
        day, files=records(day, ("xxh128", "md5")), creator=CREATOR, now=T0 + timedelta(hours=1)
    )

    day_history = mhl.read_history(day)
    (child,) = day_history.children
    assert child.root == card
    parent_generation = day_history.generations[-1]
    assert parent_generation.file == root_file
    assert [e.path for e in parent_generation.hashes] == ["Report.pdf"]
    (reference,) = parent_generation.references
    assert reference == mhl.HashListReference(
        f"A001R1AB/ascmhl/{child.generations[-1].file_name}", child.generations[-1].c4
    )
    assert len(child.generations) == 2
    assert {h.action for e in child.generations[-1].hashes for h in e.hashes} == {
        mhl.HashAction.VERIFIED,
        mhl.HashAction.ORIGINAL,  # md5 is new for the card's files
    }
    assert day_history.all_problems() == []

    flip_byte(card / "Clips/A001C001_260302_R1AB.mov")
    report = mhl.verify_folder(day)
    assert report.with_status(mhl.FileStatus.MISMATCH)[0].path == "A001R1AB/Clips/A001C001_260302_R1AB.mov"
    assert report.counts() == {mhl.FileStatus.OK: 4, mhl.FileStatus.MISMATCH: 1}


def test_a_changed_nested_generation_breaks_the_parents_reference(tmp_path: Path) -> None:
    day = make_card(tmp_path / "Day03", {"Report.pdf": b"day report"})
    card = make_card(day / "A001R1AB", CARD_FILES)
    mhl.write_generation(card, files=records(card), creator=CREATOR, now=T0)
    mhl.write_generation(day, files=records(day), creator=CREATOR, now=T0)
    child_file = mhl.read_history(card).generations[-1].file
    recorded = mhl.c4_id(child_file.read_bytes())

    # Rewrite the child's generation and its chain consistently: only the parent's reference notices.
    child_file.write_bytes(child_file.read_bytes().replace(b"Reelvault", b"Reelvau1t"))
    chain = card / "ascmhl" / "ascmhl_chain.xml"
    chain.write_text(chain.read_text().replace(recorded, mhl.c4_id(child_file.read_bytes())))

    problems = mhl.read_history(day).all_problems()

    assert [p.kind for p in problems] == [mhl.ChainProblemKind.REFERENCE_MISMATCH]
    assert problems[0].file == child_file


# --- tampering and bad input ------------------------------------------------


def test_a_tampered_generation_is_reported_and_blocks_appending(a001: Path) -> None:
    generation = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    text = generation.read_text()
    generation.write_text(text.replace('action="original"', 'action="verified"', 1))

    history = mhl.read_history(a001)
    report = mhl.verify_folder(a001)

    assert [(p.kind, p.file) for p in history.problems] == [(mhl.ChainProblemKind.MODIFIED, generation)]
    assert "was modified after it was written" in history.problems[0].message
    assert not report.ok
    assert report.counts() == {mhl.FileStatus.OK: 4}  # the payload itself is fine
    with pytest.raises(mhl.MHLError, match="refusing to append"):
        mhl.write_generation(a001, files=records(a001), creator=CREATOR)


def test_what_verify_remembers_of_a_history_follows_edits_to_its_files(a001: Path) -> None:
    # Writing and verifying keep what they read of a history by the C4 ids of its files;
    # an edit to a generation or to the chain must be seen the next time.
    original = {r.path: r.hashes["xxh128"] for r in records(a001)}
    first = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    second = mhl.write_generation(
        a001, files=records(a001, ("xxh128", "md5")), creator=CREATOR, now=T0 + timedelta(hours=1)
    )
    assert mhl.verify_folder(a001, algorithms=["md5"]).ok

    clip = "Clips/A001C001_260302_R1AB.mov"
    first.write_text(first.read_text().replace(original[clip], "0" * 32))
    edited = mhl.verify_folder(a001)

    assert [(p.kind, p.file) for p in edited.problems] == [(mhl.ChainProblemKind.MODIFIED, first)]
    assert status_of(edited)[clip] is mhl.FileStatus.OK  # the second generation verified it since

    second.unlink()
    chain = a001 / "ascmhl" / "ascmhl_chain.xml"
    listed = f"<path>{first.name}</path><c4>{mhl.c4_id(first.read_bytes())}</c4>"
    chain.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">\n'
        f'  <hashlist sequencenr="1">{listed}</hashlist>\n</ascmhldirectory>\n'
    )
    shortened = mhl.verify_folder(a001, algorithms=["md5"])

    assert shortened.problems == ()
    assert set(shortened.counts()) == {mhl.FileStatus.UNVERIFIABLE}  # md5 came with the second one
    mismatch = mhl.verify_folder(a001).with_status(mhl.FileStatus.MISMATCH)
    assert [check.path for check in mismatch] == [clip]


def test_a_chain_out_of_sequence_order_gives_the_same_reference_values(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    flip_byte(a001 / "Clips/A001C002_260302_R1AB.mov")
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0 + timedelta(hours=1))
    in_order = mhl.verify_folder(a001)
    reference = mhl.read_history(a001).reference_hashes()
    chain = a001 / "ascmhl" / "ascmhl_chain.xml"
    text = chain.read_text()
    head, first, second, tail = re.split(r"(?=  <hashlist )|(?<=</hashlist>\n)(?=</)", text)
    chain.write_text(head + second + first + tail)
    mhl.clear_parse_cache()

    reordered = mhl.verify_folder(a001)

    assert reordered == in_order
    assert reordered.with_status(mhl.FileStatus.MISMATCH)[0].recorded_failure
    assert mhl.read_history(a001).reference_hashes() == reference


def test_an_unlisted_generation_file_is_reported_not_trusted(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    forged = a001 / "ascmhl" / "0002_A001R1AB_2026-03-03_000000Z.mhl"
    forged.write_text("<hashlist/>")

    history = mhl.read_history(a001)

    assert len(history.generations) == 1
    assert [(p.kind, p.file) for p in history.problems] == [(mhl.ChainProblemKind.UNLISTED, forged)]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">
  <creatorinfo><hostname>&lol4;</hostname></creatorinfo>
</hashlist>
"""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<hashlist><creatorinfo>", "not well-formed XML"),
        (BILLION_LAUGHS, "XML bomb"),
        ('<?xml version="1.0"?><ascmhldirectory/>', "not an ASC MHL v2 generation"),
    ],
)
def test_a_broken_generation_file_raises_an_error_naming_it(a001: Path, content: str, expected: str) -> None:
    generation = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    generation.write_text(content)

    with pytest.raises(mhl.MHLError, match=expected) as raised:
        mhl.read_history(a001)
    assert str(generation) in str(raised.value)


def test_an_xml_bomb_in_the_chain_or_a_v1_file_is_refused(a001: Path, tmp_path: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    (a001 / "ascmhl" / "ascmhl_chain.xml").write_text(BILLION_LAUGHS)
    bomb = tmp_path / "bomb.mhl"
    bomb.write_text(BILLION_LAUGHS)

    with pytest.raises(mhl.MHLError, match=r"ascmhl_chain\.xml: refused to parse"):
        mhl.read_history(a001)
    with pytest.raises(mhl.MHLError, match=r"bomb\.mhl: refused to parse"):
        mhl.read_mhl_v1(bomb)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'<?xml version="1.0"?>\n<!DOCTYPE hashlist>\n<hashlist/>', id="bare-doctype"),
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE hashlist SYSTEM "http://127.0.0.1:9/mhl.dtd">\n<hashlist/>',
            id="external-dtd",
        ),
        pytest.param(
            BILLION_LAUGHS.replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>').encode("utf-16"),
            id="utf-16",
        ),
        pytest.param(BILLION_LAUGHS.encode().replace(b"</hashlist>", b"<unclosed>"), id="bomb-then-broken"),
    ],
)
def test_any_doctype_is_refused_before_anything_else(tmp_path: Path, content: bytes) -> None:
    generation = tmp_path / "0001_A001R1AB_2026-03-02_091500Z.mhl"
    generation.write_bytes(content)

    with pytest.raises(mhl.MHLError, match=r"refused to parse: it declares a DTD or entities"):
        mhl.read_generation(generation)


def test_comments_cdata_instructions_and_prefixes_read_like_plain_elements(tmp_path: Path) -> None:
    generation = tmp_path / "0001_A001R1AB_2026-03-02_091500Z.mhl"
    generation.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand; <!DOCTYPE inside a comment declares nothing -->
<?xml-stylesheet href="mhl.xsl"?>
<m:hashlist version="2.0" xmlns:m="urn:ASC:MHL:v2.0">
  <m:creatorinfo>
    <m:creationdate>2026-03-02T09:15:00Z</m:creationdate>
    <m:hostname>loader<!-- the second one -->-02 &amp; co</m:hostname>
    <m:tool version="2.0">ascmhl<![CDATA[.py <beta>]]></m:tool>
  </m:creatorinfo>
  <m:processinfo><m:process>in-place</m:process></m:processinfo>
  <m:hashes>
    <m:hash>
      <m:path size="12" lastmodificationdate="2026-03-01T18:00:00+01:00">Clips/<!--c-->A &amp; B.mov</m:path>
      <?checked yes?>
      <m:xxh128 action="original"><![CDATA[ 0DAAF310EEC5C5C297B8815B63056986 ]]></m:xxh128>
    </m:hash>
    <hash xmlns="urn:ASC:MHL:v2.0"><path>  </path><md5 action="verified">00ff</md5></hash>
  </m:hashes>
</m:hashlist>
""",
        encoding="utf-8",
    )

    parsed = mhl.read_generation(generation)

    assert parsed.creator.hostname == "loader-02 & co"
    assert (parsed.creator.tool_name, parsed.creator.tool_version) == ("ascmhl.py <beta>", "2.0")
    assert parsed.hashes == (
        mhl.HashEntry(
            "Clips/A & B.mov",
            12,
            datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
            (mhl.HashValue("xxh128", "0daaf310eec5c5c297b8815b63056986", mhl.HashAction.ORIGINAL, None),),
        ),
        mhl.HashEntry("  ", None, None, (mhl.HashValue("md5", "00ff", mhl.HashAction.VERIFIED, None),)),
    )


def test_generations_of_different_sizes_each_read_whole(a001: Path) -> None:
    # read_history reads every generation file into one reused buffer: a small file after a large
    # one must not pick up the large one's tail, and a large one after a small one must fit.
    everything = records(a001)
    mhl.write_generation(a001, files=everything, creator=CREATOR, now=T0)
    mhl.write_generation(a001, files=everything[:1], creator=CREATOR, now=T0 + timedelta(hours=1))
    make_card(a001, {f"Clips/Extra/A001C{n:03d}_260302_R1AB.mov": bytes([n]) * n for n in range(1, 40)})
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0 + timedelta(hours=2))
    mhl.clear_parse_cache()

    history = mhl.read_history(a001)

    assert [len(g.hashes) for g in history.generations] == [4, 1, 43]
    assert history.all_problems() == []
    for generation in history.generations:
        mhl.clear_parse_cache()
        assert mhl.read_generation(generation.file).hashes == generation.hashes
    assert mhl.verify_folder(a001).ok


def test_reference_hashes_are_the_callers_to_change(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    history = mhl.read_history(a001)

    history.reference_hashes()["Clips/A001C001_260302_R1AB.mov"]["xxh128"] = "00"
    history.reference_hashes().clear()

    assert history.reference_hashes()["Clips/A001C001_260302_R1AB.mov"]["xxh128"] != "00"
    assert mhl.verify_folder(a001).ok


def test_missing_chain_file_is_an_error_naming_it(a001: Path) -> None:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    (a001 / "ascmhl" / "ascmhl_chain.xml").unlink()

    with pytest.raises(mhl.MHLError, match=r"ascmhl_chain\.xml is missing.*restore the chain file"):
        mhl.read_history(a001)
    # A lone first generation without a chain is what a kill between its two writes leaves: the
    # next write checks it and chains it (tests/copyengine/test_mhl_recovery.py). Two or more
    # generations without a chain are not a crash and stay refused.
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0 + timedelta(seconds=1))
    (a001 / "ascmhl" / "ascmhl_chain.xml").unlink()
    with pytest.raises(mhl.MHLError, match=r"ascmhl_chain\.xml is missing"):
        mhl.write_generation(a001, files=records(a001), creator=CREATOR)


def test_generation_listed_in_the_chain_but_missing_is_an_error_naming_it(a001: Path) -> None:
    generation = mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    generation.unlink()

    with pytest.raises(mhl.MHLError, match=r"is listed in .* but missing") as raised:
        mhl.verify_folder(a001)
    assert generation.name in str(raised.value)


def test_a_folder_without_history_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(mhl.MHLError, match="has no ASC MHL history"):
        mhl.read_history(tmp_path)


# --- interoperability with the ASC reference tool (ascmhl 1.2) ---------------


@pytest.fixture
def card_with_two_generations(a001: Path) -> Path:
    mhl.write_generation(a001, files=records(a001), creator=CREATOR, now=T0)
    mhl.write_generation(
        a001, files=records(a001, ("xxh128", "md5")), creator=CREATOR, now=T0 + timedelta(hours=1)
    )
    return a001


@needs_tool
def test_reference_tool_verifies_reads_and_diffs_our_history(card_with_two_generations: Path) -> None:
    card = card_with_two_generations

    verify = run_tool("ascmhl-debug", "verify", "-v", card)
    info = run_tool("ascmhl", "info", "-v", card)
    diff = run_tool("ascmhl", "diff", card)

    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Szene 1 Ä 日本.wav: OK" in verify.stdout
    assert info.returncode == 0, info.stdout + info.stderr
    assert "Generation 2" in info.stdout
    assert "loader-01, Reelvault 0.1.0, Jo Loader [DIT] (jo@example.com)" in info.stdout
    assert diff.returncode == 0, diff.stdout + diff.stderr


@needs_tool
def test_reference_tool_appends_a_generation_we_then_read_and_verify(card_with_two_generations: Path) -> None:
    card = card_with_two_generations

    create = run_tool("ascmhl", "create", card, "-h", "xxh128")

    assert create.returncode == 0, create.stdout + create.stderr
    history = mhl.read_history(card)
    assert [g.creator.tool_name for g in history.generations] == ["Reelvault", "Reelvault", "ascmhl"]
    theirs = history.generations[2]
    assert {h.action for e in theirs.hashes for h in e.hashes} == {mhl.HashAction.VERIFIED}
    assert {d.path for d in theirs.directory_hashes} == {"Clips", "Sound Roll", "Notes & <Reports>"}
    assert history.all_problems() == []
    assert mhl.verify_folder(card).ok
    # ...and our next generation goes on top of theirs.
    mhl.write_generation(card, files=records(card), creator=CREATOR)
    assert [g.sequence_number for g in mhl.read_history(card).generations] == [1, 2, 3, 4]
    assert run_tool("ascmhl-debug", "verify", card).returncode == 0


@needs_tool
def test_a_flipped_byte_fails_both_verifications(card_with_two_generations: Path) -> None:
    card = card_with_two_generations
    flip_byte(card / "Clips/A001C002_260302_R1AB.mov", offset=7)

    ours = mhl.verify_folder(card)
    theirs = run_tool("ascmhl-debug", "verify", card)

    assert status_of(ours)["Clips/A001C002_260302_R1AB.mov"] is mhl.FileStatus.MISMATCH
    assert theirs.returncode != 0
    assert "hash mismatch" in theirs.stdout + theirs.stderr


@needs_tool
def test_reference_tool_reads_our_nested_histories(tmp_path: Path) -> None:
    day = make_card(tmp_path / "Day03", {"Report.pdf": b"day report"})
    card = make_card(day / "A001R1AB", CARD_FILES)
    mhl.write_generation(card, files=records(card), creator=CREATOR, now=T0)
    mhl.write_generation(day, files=records(day), creator=CREATOR, now=T0 + timedelta(hours=1))

    verify = run_tool("ascmhl-debug", "verify", "-v", day)
    info = run_tool("ascmhl", "info", day)

    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "A001R1AB/Clips/A001C001_260302_R1AB.mov: OK" in verify.stdout
    assert "Child History at" in info.stdout


XSD_CHECK = """
import sys
from pathlib import Path
from lxml import etree
xsd_dir = Path(sys.argv[1])
generation = etree.XMLSchema(etree.parse(str(xsd_dir / "ASCMHL.xsd")))
chain_xsd = etree.parse(str(xsd_dir / "ASCMHLDirectory.xsd"))
for element in chain_xsd.getroot():
    if element.tag.endswith("import"):  # it imports ASCMHL.xsd from GitHub; use the local copy
        element.set("schemaLocation", (xsd_dir / "ASCMHL.xsd").as_uri())
chain = etree.XMLSchema(chain_xsd)
for name in sys.argv[2:]:
    schema = chain if name.endswith("ascmhl_chain.xml") else generation
    if not schema.validate(etree.parse(name)):
        print(name, schema.error_log)
        sys.exit(1)
"""


def _xsd_dir() -> Path | None:
    for candidate in (os.environ.get("ASCMHL_XSD_DIR"), MHL_SAMPLES / "xsd"):
        if candidate and (Path(candidate) / "ASCMHL.xsd").is_file():
            return Path(candidate)
    return None


@needs_tool
@pytest.mark.skipif(
    _xsd_dir() is None,
    reason="the ASC MHL XSDs are not in the ascmhl wheel; set ASCMHL_XSD_DIR to the sdist's xsd/ folder",
)
def test_our_files_validate_against_the_asc_mhl_schemas(tmp_path: Path) -> None:
    day = make_card(tmp_path / "Day03", {"Report.pdf": b"day report"})
    card = make_card(day / "A001R1AB", CARD_FILES)
    mhl.write_generation(card, files=records(card), creator=CREATOR, now=T0)
    mhl.write_generation(day, files=records(day, ("xxh128", "md5", "sha1")), creator=CREATOR, now=T0)
    files = sorted(str(p) for p in tmp_path.rglob("ascmhl/*"))

    check = subprocess.run(
        [str(TOOLS / "python"), "-c", XSD_CHECK, str(_xsd_dir()), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert len(files) == 5  # card: two generations + chain; day: one generation + chain
    assert check.returncode == 0, check.stdout + check.stderr
