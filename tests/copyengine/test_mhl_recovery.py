"""No crash leaves a history blocked (issue 12, point 4).

``write_generation`` writes the generation file, then ``ascmhl_chain.xml``. A
kill between the two leaves a generation the chain does not list; the state
on disk is exactly that of putting back the chain file as it was before the
write, which is how these tests make it. The next write must check it and
chain it (or set it aside) and go on, and the ASC reference tool must accept
the result.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copyengine import mhl
from tests.copyengine.conftest import xxh128_bytes

TOOLS = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin"
MTIME = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
FILES = {"A001C001.mov": b"a" * 5000, "A001C002.mov": b"b" * 7000}


def _write(root: Path, second: int, *, tool: str = "Reelvault") -> Path:
    return mhl.write_generation(
        root,
        files=[
            mhl.FileRecord(path=name, size=len(data), mtime=MTIME, hashes={"xxh128": xxh128_bytes(data)})
            for name, data in FILES.items()
        ],
        creator=mhl.Creator(tool_version="test", tool_name=tool),
        now=datetime(2026, 11, 2, 11, 0, second, tzinfo=UTC),
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "A001"
    root.mkdir()
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    return root


def _crash_after_generation(root: Path, second: int) -> Path:
    """Write one more generation, then leave the chain as it was before: a kill between the two writes."""
    chain = root / "ascmhl" / mhl.CHAIN_FILE
    before = chain.read_bytes() if chain.exists() else None
    generation = _write(root, second)
    if before is None:
        chain.unlink()
    else:
        chain.write_bytes(before)
    mhl.clear_parse_cache()
    return generation


def _reference_tool_accepts(root: Path) -> None:
    if not (TOOLS / "ascmhl-debug").exists():
        return
    result = subprocess.run(
        [str(TOOLS / "ascmhl-debug"), "verify", str(root)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unchained_generation_is_checked_and_chained_and_the_next_write_goes_on(root: Path) -> None:
    _write(root, 1)
    orphan = _crash_after_generation(root, 2)
    # What every later offload or restore of this folder ran into, and refused to append to:
    assert [p.kind for p in mhl.read_history(root).problems] == [mhl.ChainProblemKind.UNLISTED]

    third = _write(root, 3)
    history = mhl.read_history(root)
    assert history.problems == ()
    assert [g.file_name for g in history.generations] == [
        "0001_A001_2026-11-02_110001Z.mhl",
        orphan.name,
        third.name,
    ]
    assert mhl.verify_folder(root).ok
    _reference_tool_accepts(root)


def test_a_first_generation_without_any_chain_is_recovered(root: Path) -> None:
    _crash_after_generation(root, 1)
    assert not (root / "ascmhl" / mhl.CHAIN_FILE).exists()
    assert mhl.recover_history(root)  # says what it did
    _write(root, 2)
    assert len(mhl.read_history(root).generations) == 2
    _reference_tool_accepts(root)


def test_an_unchained_generation_that_cannot_be_vouched_for_is_set_aside(root: Path) -> None:
    _write(root, 1)
    orphan = _crash_after_generation(root, 2)
    (root / "A001C002.mov").write_bytes(b"b" * 6999)  # no longer what it records
    (done,) = mhl.recover_history(root)
    assert "set aside" in done and "A001C002.mov is 6999 bytes" in done
    assert not orphan.exists()
    assert orphan.with_name(orphan.name + mhl.SET_ASIDE_SUFFIX).exists()
    (root / "A001C002.mov").write_bytes(FILES["A001C002.mov"])
    _write(root, 3)
    history = mhl.read_history(root)
    assert history.problems == () and [g.sequence_number for g in history.generations] == [1, 2]
    _reference_tool_accepts(root)


def test_another_tools_unlisted_generation_is_not_adopted(root: Path) -> None:
    _write(root, 1)
    chain = root / "ascmhl" / mhl.CHAIN_FILE
    before = chain.read_bytes()
    _write(root, 2, tool="SomeOtherTool")
    chain.write_bytes(before)
    mhl.clear_parse_cache()
    (done,) = mhl.recover_history(root)
    assert "written by SomeOtherTool" in done and "set aside" in done
