"""No write outside its root (issue 12, point 2), at the level every writer shares: the local backend.

Offloads, restores and (later) replication and repair all write through
``LocalCardWriter``; whatever path a catalog or a request hands it, the
final file must land inside ``<root>/<label>/``. Forged paths, absolute
paths and symlinks planted in the way are refused with a per-file error,
and nothing is created outside.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copyengine import filecopy
from copyengine.backends import DestinationError, LocalDestination
from tests.copyengine.conftest import xxh128_bytes

DATA = b"camera original" * 1000


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "volume" / "A001" / "CLIP" / "clip.mov"
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    return tmp_path / "volume"


def _everything(root: Path) -> set[str]:
    return {str(Path(d, n).relative_to(root)) for d, dirs, files in os.walk(root) for n in [*dirs, *files]}


@pytest.mark.parametrize(
    "relpath",
    [
        "A001/../../../../escaped.mov",
        "../escaped.mov",
        "/tmp/escaped.mov",
        "A001//escaped.mov",
        "A001/./escaped.mov",
        "A001/esc\x00aped.mov",
        "",
    ],
)
def test_a_forged_path_is_refused_and_nothing_is_written_outside(
    tmp_path: Path, volume: Path, relpath: str
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    before = _everything(tmp_path)
    with LocalDestination(target).open_writer("R1") as writer:
        with pytest.raises(filecopy.DestinationFileError, match="refused"):
            filecopy.copy_verified(
                reader=LocalDestination(volume).open_reader("A001"),
                path="CLIP/clip.mov",
                writer=writer,
                relpath=relpath,
                expected_xxh128=xxh128_bytes(DATA),
                size=len(DATA),
            )
    assert _everything(tmp_path) - before == {"target/R1"}
    assert not Path("/tmp/escaped.mov").exists()


def test_a_symlinked_folder_inside_the_card_folder_cannot_redirect_a_write(
    tmp_path: Path, volume: Path
) -> None:
    target, elsewhere = tmp_path / "target", tmp_path / "elsewhere"
    target.mkdir()
    elsewhere.mkdir()
    (target / "R1").mkdir()
    (target / "R1" / "A001").symlink_to(elsewhere)  # planted by someone with access to the drive
    with LocalDestination(target).open_writer("R1") as writer:
        with pytest.raises(filecopy.DestinationFileError, match="symlink"):
            filecopy.copy_verified(
                reader=LocalDestination(volume).open_reader("A001"),
                path="CLIP/clip.mov",
                writer=writer,
                relpath="A001/CLIP/clip.mov",
                expected_xxh128=xxh128_bytes(DATA),
                size=len(DATA),
            )
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("label", ["..", "../R1", "/tmp", "a/b", ""])
def test_a_card_folder_name_that_is_not_one_name_is_refused(tmp_path: Path, label: str) -> None:
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(DestinationError, match="refused the folder name"):
        LocalDestination(target).open_writer(label)
    assert list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_a_forged_source_path_is_not_read_from_outside_the_volume(tmp_path: Path, volume: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(DATA)  # same bytes: only the path check stops it
    target = tmp_path / "target"
    target.mkdir()
    with LocalDestination(target).open_writer("R1") as writer:
        with pytest.raises(filecopy.CopyFailed, match="refused"):
            filecopy.copy_verified(
                reader=LocalDestination(volume).open_reader("A001"),
                path="../../secret.txt",
                writer=writer,
                relpath="A001/secret.txt",
                expected_xxh128=xxh128_bytes(DATA),
                size=len(DATA),
            )
    assert not (target / "R1" / "A001" / "secret.txt").exists()
