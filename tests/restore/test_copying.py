"""The restore copy primitive on real files: never overwrite, prove by reading back, clean up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from restore import copying
from tests.restore.conftest import flip_byte, partial_files, xxh128_bytes


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(9 * 1024 * 1024 + 123)  # more than one 8 MiB chunk
    path = tmp_path / "src" / "clip.mov"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data


def test_restores_and_verifies(source: tuple[Path, bytes], tmp_path: Path) -> None:
    path, data = source
    seen: dict[str, int] = {"copy": 0, "verify": 0}
    result = copying.restore_file(
        source=path,
        target=tmp_path / "dst" / "A001" / "clip.mov",
        expected_xxh128=xxh128_bytes(data),
        size=len(data),
        on_progress=lambda phase, n: seen.__setitem__(phase, seen[phase] + n),
    )
    assert not result.already_there and result.bytes_copied == len(data)
    assert (tmp_path / "dst" / "A001" / "clip.mov").read_bytes() == data
    assert seen == {"copy": len(data), "verify": len(data)}
    assert not partial_files(tmp_path / "dst")


def test_an_identical_file_at_the_target_is_accepted_without_copying(
    source: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, data = source
    target = tmp_path / "dst" / "clip.mov"
    target.parent.mkdir()
    target.write_bytes(data)
    result = copying.restore_file(
        source=path, target=target, expected_xxh128=xxh128_bytes(data), size=len(data)
    )
    assert result.already_there and result.bytes_copied == 0


def test_a_different_file_at_the_target_is_never_overwritten(
    source: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, data = source
    target = tmp_path / "dst" / "clip.mov"
    target.parent.mkdir()
    target.write_bytes(b"the colourist's own file")
    with pytest.raises(copying.TargetConflictError, match="not overwritten"):
        copying.restore_file(source=path, target=target, expected_xxh128=xxh128_bytes(data), size=len(data))
    assert target.read_bytes() == b"the colourist's own file"
    assert not partial_files(tmp_path / "dst")


def test_a_corrupt_source_is_reported_with_its_hash_and_nothing_is_left(
    source: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, data = source
    flip_byte(path, offset=8 * 1024 * 1024 + 5)  # in the second chunk
    with pytest.raises(copying.SourceCorruptError) as caught:
        copying.restore_file(
            source=path,
            target=tmp_path / "dst" / "clip.mov",
            expected_xxh128=xxh128_bytes(data),
            size=len(data),
        )
    assert caught.value.found == xxh128_bytes(path.read_bytes())
    assert list((tmp_path / "dst").iterdir()) == []


def test_a_missing_source_is_reported_missing(tmp_path: Path) -> None:
    with pytest.raises(copying.SourceMissingError):
        copying.restore_file(
            source=tmp_path / "nope.mov", target=tmp_path / "dst" / "x", expected_xxh128="0" * 32
        )


def test_drill_cleanup_refuses_anything_outside_the_target(tmp_path: Path) -> None:
    (tmp_path / "target" / "R1").mkdir(parents=True)
    with pytest.raises(ValueError, match="not inside"):
        copying.remove_restore_folder(tmp_path / "target", inside=tmp_path / "target")
    with pytest.raises(ValueError, match="not inside"):
        copying.remove_restore_folder(tmp_path, inside=tmp_path / "target")
    copying.remove_restore_folder(tmp_path / "target" / "R1", inside=tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []
