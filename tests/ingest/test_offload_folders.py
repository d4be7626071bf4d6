"""Folder fidelity: a card's whole tree (empty folders and folder times too) on every destination.

Judged from outside: the trees are walked here with os.lstat and compared
(names, kinds, empty folders, file sizes, file and folder mtimes); the ASC
reference tool checks the directory hashes we record (``ascmhl-debug verify
--directory_hash``) and computes its own on the source for comparison.
"""

from __future__ import annotations

import datetime
import io
import os
import shutil
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from lxml import etree

from copyengine import mhl
from copyengine.backends import LocalDestination
from copyengine.offload import CopyStatus, offload_card
from ingest.models import OffloadJob
from tests.fixtures import World
from tests.ingest.test_offload_command import ASCMHL, ASCMHL_DEBUG, reference_tool, run_offload

NS = {"m": "urn:ASC:MHL:v2.0"}
OLD = 1_600_000_000_000_000_000  # 2020-09-13, in ns: clearly not "now"

# An XDCAM card (Sony): most of XDROOT is empty folders the camera expects.
XDCAM_FILES = {
    "XDROOT/DISCMETA.XML": b"<discmeta/>",
    "XDROOT/MEDIAPRO.XML": b"<mediapro/>",
    "XDROOT/Clip/C0001.MXF": os.urandom(70_000),
    "XDROOT/Clip/C0001M01.XML": b"<nrt/>",
}
XDCAM_EMPTY = ["XDROOT/Edit", "XDROOT/General/Sony/Xdcam", "XDROOT/Sub", "XDROOT/Take", "XDROOT/UserData"]
# An AVCHD card: BDMV with empty BACKUP, PLAYLIST, CLIPINF folders next to STREAM.
AVCHD_FILES = {
    "PRIVATE/AVCHD/BDMV/INDEX.BDM": b"INDX0200",
    "PRIVATE/AVCHD/BDMV/MOVIEOBJ.BDM": b"MOBJ0200",
    "PRIVATE/AVCHD/BDMV/STREAM/00000.MTS": os.urandom(50_000),
}
AVCHD_EMPTY = [
    "PRIVATE/AVCHD/BDMV/BACKUP/CLIPINF",
    "PRIVATE/AVCHD/BDMV/BACKUP/PLAYLIST",
    "PRIVATE/AVCHD/BDMV/CLIPINF",
    "PRIVATE/AVCHD/BDMV/PLAYLIST",
    "PRIVATE/AVCHD/AVCHDTN",
    "DCIM",
]


def make_card(root: Path, files: dict[str, bytes], empty: list[str]) -> Path:
    """Write the files and empty folders, then give every entry its own old time, deepest first."""
    for relpath, data in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(data)
    for relpath in empty:
        (root / relpath).mkdir(parents=True, exist_ok=True)
    entries = sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True)
    for index, path in enumerate([*entries, root]):
        stamp = OLD + index * 3_000_000_000  # 3 s apart: a mix-up between entries shows
        os.utime(path, ns=(stamp, stamp), follow_symlinks=False)
    return root


def tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """{relative path: (kind, size, mtime in whole seconds)}, the root itself as ".", ascmhl left out."""
    found: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "ascmhl"]
        for name in [*dirnames, *filenames, *([""] if Path(dirpath) == root else [])]:
            path = Path(dirpath) / name if name else Path(dirpath)
            st = path.lstat()
            kind = "dir" if path.is_dir() and not path.is_symlink() else "file"
            size = st.st_size if kind == "file" else 0
            found[path.relative_to(root).as_posix()] = (kind, size, st.st_mtime_ns // 1_000_000_000)
    return found


@pytest.mark.parametrize(("files", "empty"), [(XDCAM_FILES, XDCAM_EMPTY), (AVCHD_FILES, AVCHD_EMPTY)])
def test_offload_command_copies_the_card_tree_with_empty_folders_and_folder_times(
    world: World, tmp_path: Path, files: dict[str, bytes], empty: list[str]
) -> None:
    card = make_card(tmp_path / "cards" / "A001", files, empty)
    before = tree(card)
    d1, d2 = tmp_path / "raid", tmp_path / "shuttle"
    code, summary, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(d2)
    )
    assert code == 0, err
    assert summary["safe_to_format"] is True
    for dest in (d1, d2):
        copy = tree(dest / "A001")
        assert copy == before  # names, empty folders, sizes, file and folder mtimes, card folder too
        for folder in empty:
            assert (dest / "A001" / folder).is_dir() and not any((dest / "A001" / folder).iterdir())
        assert (dest / "A001" / "ascmhl").is_dir()  # the history is there, and the tree still matches
    assert tree(card) == before  # the card itself was not touched


@pytest.mark.skipif(not ASCMHL_DEBUG.exists(), reason="the ASC MHL reference tool is not installed")
def test_reference_tool_accepts_our_directory_hashes_and_extra_md5_sha1(world: World, tmp_path: Path) -> None:
    card = make_card(tmp_path / "cards" / "A001", XDCAM_FILES, XDCAM_EMPTY)
    dest = tmp_path / "raid"
    code, _, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(dest), "--dest", str(tmp_path / "shuttle"),
        "--hash", "md5", "--hash", "sha1",
    )  # fmt: skip
    assert code == 0, err
    root = dest / "A001"
    for args in (("verify", "--directory_hash"), ("verify",)):
        verified = reference_tool(str(ASCMHL_DEBUG), *args, str(root))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    info = reference_tool(str(ASCMHL), "info", "-v", str(root))
    assert info.returncode == 0, info.stdout + info.stderr

    generation = etree.parse(next((root / "ascmhl").glob("0001_*.mhl")))
    # MD5 and SHA-1 were computed in the same read and recorded as extra hash entries.
    clip = generation.find(".//m:hash[m:path='XDROOT/Clip/C0001.MXF']", NS)
    assert clip is not None
    assert clip.findtext("m:md5", namespaces=NS) == _hashlib(card / "XDROOT/Clip/C0001.MXF", "md5")
    assert clip.findtext("m:sha1", namespaces=NS) == _hashlib(card / "XDROOT/Clip/C0001.MXF", "sha1")
    recorded = {e.findtext("m:path", namespaces=NS) for e in generation.iterfind(".//m:directoryhash", NS)}
    assert set(XDCAM_EMPTY) <= recorded and "XDROOT/General" in recorded

    # The reference tool, run on a plain copy of the card, computes the same root hash.
    reference = tmp_path / "reference" / "A001"
    shutil.copytree(card, reference)
    created = reference_tool(str(ASCMHL), "create", str(reference), "-h", "xxh128")
    assert created.returncode == 0, created.stdout + created.stderr
    theirs = etree.parse(next((reference / "ascmhl").glob("0001_*.mhl")))
    for part in ("content", "structure"):
        path = f".//m:roothash/m:{part}/m:xxh128"
        assert generation.findtext(path, namespaces=NS) == theirs.findtext(path, namespaces=NS)

    # A folder gone from the copy is caught by the reference tool and by ours.
    (root / "XDROOT" / "Take").rmdir()
    assert reference_tool(str(ASCMHL_DEBUG), "verify", "--directory_hash", str(root)).returncode != 0
    out, errors = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):
        call_command("mhl_verify", str(root), stdout=out, stderr=errors)
    assert "XDROOT/Take/" in out.getvalue() + errors.getvalue()


def _hashlib(path: Path, name: str) -> str:
    import hashlib

    return hashlib.new(name, path.read_bytes(), usedforsecurity=False).hexdigest()


@pytest.mark.skipif(not ASCMHL.exists(), reason="the ASC MHL reference tool is not installed")
def test_our_verifier_reads_the_reference_tools_directory_entries(tmp_path: Path) -> None:
    card = make_card(tmp_path / "A002", AVCHD_FILES, AVCHD_EMPTY)
    created = reference_tool(str(ASCMHL), "create", str(card), "-h", "xxh64")
    assert created.returncode == 0, created.stdout + created.stderr
    assert mhl.verify_folder(card).ok
    (card / "DCIM").rmdir()
    report = mhl.verify_folder(card)
    assert [(c.path, c.status) for c in report.files if not c.status == mhl.FileStatus.OK] == [
        ("DCIM/", mhl.FileStatus.MISSING)
    ]


def test_sample_histories_directory_entries_are_read() -> None:
    samples = Path(__file__).resolve().parents[3] / "shared" / "samples" / "mhl" / "ascmhl_v2"
    history = mhl.read_history(samples / "scenario_03_md5_added" / "A002R2EC")
    first = history.generations[0]
    assert [d.path for d in first.directory_hashes] == ["Clips"]
    (value,) = first.directory_hashes[0].hashes
    assert (value.format, value.content, value.structure) == ("xxh64", "4c226b42e27d7af3", "906faa843d591a9f")
    assert first.process.root_hash[0].content == "8d02114c32e28cbe"


HOSTILE = [
    "with space",
    "-leading-dash",
    "new\nline",
    "back\\slash",
    "ü-ñ-日本",
    "..dots",
    "x" * 255,
    "tab\tand 'quote' \"double\"",
    "$(touch pwned)",
]


def test_hostile_folder_names_are_copied_inside_the_card_folder_only(tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in HOSTILE:
        (card / name / "inner").mkdir(parents=True)
    os.mkdir(os.fsencode(card) + b"/caf\xe9")  # not UTF-8 (Latin-1 from an old camera)
    (card / "CLIP.MOV").write_bytes(b"data")
    (card / ".B.reelvault-partial").mkdir()  # looks like our own temporary folder: refused
    dest = tmp_path / "dest"
    dest.mkdir()
    result = offload_card(source=card, destinations=[LocalDestination(dest)], label="A001")
    copy = dest / "A001"
    for name in HOSTILE:
        assert (copy / name / "inner").is_dir()
    assert os.path.isdir(os.fsencode(copy) + b"/caf\xe9")
    assert not (copy / ".B.reelvault-partial").exists()
    assert [p.kind for p in result.scan_problems] == ["reserved_name"]
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside == {"card", "dest"}  # nothing made next to the card folder
    assert not Path("pwned").exists()


def test_symlink_at_a_folders_place_on_the_destination_is_not_written_through(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card", {"A/clip.mov": b"1"}, ["A/EMPTY", "B/EMPTY"])
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    (dest / "A001").mkdir(parents=True)
    elsewhere.mkdir()
    (dest / "A001" / "B").symlink_to(elsewhere)
    result = offload_card(source=card, destinations=[LocalDestination(dest, name="D")], label="A001")
    assert not list(elsewhere.iterdir())
    assert not result.safe_to_format
    assert any("B" in problem for problem in result.destinations[0].folder_problems)
    assert (dest / "A001" / "A" / "EMPTY").is_dir()


def test_resumed_offload_finishes_the_tree_and_its_folder_times(tmp_path: Path) -> None:
    files = {f"XDROOT/Clip/C{i:04d}.MXF": os.urandom(20_000) for i in range(6)}
    card = make_card(tmp_path / "card", files, XDCAM_EMPTY)
    before = tree(card)
    dest = tmp_path / "dest"
    dest.mkdir()
    cancel = threading.Event()

    def stop_after_first(_outcome: object) -> None:
        cancel.set()

    first = offload_card(
        source=card,
        destinations=[LocalDestination(dest)],
        label="A001",
        cancel=cancel,
        on_file=stop_after_first,
        batch_files=1,
    )
    assert first.cancelled
    assert tree(dest / "A001") != before
    second = offload_card(source=card, destinations=[LocalDestination(dest)], label="A001")
    assert second.safe_to_format
    statuses = {d.status for f in second.files for d in f.destinations}
    assert CopyStatus.SKIPPED_EXISTING_VERIFIED in statuses and CopyStatus.VERIFIED in statuses
    assert tree(dest / "A001") == before


def test_a_later_generation_without_folders_does_not_hide_a_missing_folder(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card", XDCAM_FILES, XDCAM_EMPTY)
    dest = tmp_path / "dest"
    dest.mkdir()
    result = offload_card(source=card, destinations=[LocalDestination(dest)], label="A001")
    records = [
        mhl.FileRecord(
            f.relpath, f.size, datetime.datetime.fromtimestamp(f.mtime_ns / 1e9, datetime.UTC), f.hashes
        )
        for f in result.files
    ]
    folders = [mhl.FolderRecord(f.relpath, None) for f in result.folders]
    creator = mhl.Creator(tool_version="test")
    mhl.write_generation(dest / "A001", files=records, creator=creator, folders=folders)
    # A later generation of files only (what a fixity audit appends).
    mhl.write_generation(dest / "A001", files=records[:1], creator=creator, process_type="in-place")
    assert mhl.verify_folder(dest / "A001").ok
    (dest / "A001" / "XDROOT" / "Sub").rmdir()
    report = mhl.verify_folder(dest / "A001")
    assert [c.path for c in report.files if c.status is mhl.FileStatus.MISSING] == ["XDROOT/Sub/"]


def test_offload_command_keeps_hostile_folder_names_and_says_which_the_history_cannot_record(
    world: World, tmp_path: Path
) -> None:
    card = make_card(
        tmp_path / "cards" / "A001",
        {"A001C001_261102_R1AB.mov": os.urandom(3000)},
        ["new\nline/inner", "back\\slash", "-dash $(x) 'q'", "ü-日本/Ünïcode"],
    )
    before = tree(card)
    d1, d2 = tmp_path / "raid", tmp_path / "shuttle"
    code, _, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(d2)
    )
    assert code == 0, err
    problems = OffloadJob.objects.get(label="A001").summary["scan_problems"]
    # A backslash is a separator to other ASC MHL tools: that folder is named, not recorded.
    assert [p["path"] for p in problems if p["kind"] == "not_in_mhl"] == ["back\\slash"]
    for dest in (d1, d2):
        assert tree(dest / "A001") == before
        assert sorted(p.name for p in dest.iterdir()) == ["A001"]  # nothing beside the card folder
        generation = etree.parse(next((dest / "A001" / "ascmhl").glob("0001_*.mhl")))
        recorded = {
            e.findtext("m:path", namespaces=NS) for e in generation.iterfind(".//m:directoryhash", NS)
        }
        assert recorded == {"-dash $(x) 'q'", "new\nline", "new\nline/inner", "ü-日本", "ü-日本/Ünïcode"}
