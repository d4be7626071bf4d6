"""Names of any kind through the copy engine (issue 12, point 3).

Faithful round trips between the catalog and the file system, and temporary names that fit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copyengine import filecopy, fsnames
from copyengine.backends import LocalDestination
from copyengine.offload import scan_card
from tests.copyengine.conftest import partial_files, xxh128_bytes

NAMES = [
    "A001C001.mov",
    "clip ü é 名前.wav",
    os.fsdecode(b"caf\xe9.mov"),  # Latin-1, not UTF-8
    os.fsdecode(b"\x82\xa0\x82\xa2.mov"),  # Shift-JIS bytes
    "take\\2.mov",
    "X" * 251 + ".mov",  # 255 bytes
]


@pytest.mark.parametrize("name", NAMES)
def test_catalog_names_are_valid_unicode_and_map_back_to_the_same_bytes(name: str) -> None:
    stored = fsnames.from_fs(name)
    stored.encode("utf-8")  # storable in PostgreSQL, JSON and XML
    assert fsnames.to_fs(stored) == name
    assert os.fsencode(fsnames.to_fs(stored)) == os.fsencode(name)
    assert fsnames.not_utf8(stored) == (name != stored)


def test_a_scan_gives_catalog_names_and_refuses_names_it_could_not_give_back(tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in NAMES:
        (card / name).write_bytes(b"x")
    sub = card / os.fsdecode(b"dossier \xe9t\xe9")
    sub.mkdir()
    (sub / "inner.mov").write_bytes(b"y")
    (card / "private\uef90.mov").write_bytes(b"z")  # real UTF-8 of a private-use character
    scan = scan_card(card)
    assert {f.relpath for f in scan.files} == {
        *(fsnames.from_fs(n) for n in NAMES),
        fsnames.from_fs(os.fsdecode(b"dossier \xe9t\xe9/inner.mov")),
    }
    (problem,) = scan.problems
    assert problem.kind == "unstorable_name" and "NOT copied" in problem.message


@pytest.mark.parametrize("name", [NAMES[-1], NAMES[2]])
def test_a_255_byte_or_non_utf8_name_is_copied_with_a_temporary_name_that_fits(
    tmp_path: Path, name: str
) -> None:
    data = os.urandom(100_000)
    volume = tmp_path / "volume" / "A001"
    volume.mkdir(parents=True)
    (volume / name).write_bytes(data)
    target = tmp_path / "target"
    target.mkdir()
    relpath = fsnames.from_fs(name)
    seen: list[str] = []

    def spy(phase: str, n: int) -> None:
        seen.extend(p.name for p in partial_files(target))

    with LocalDestination(target).open_writer("R1") as writer:
        filecopy.copy_verified(
            reader=LocalDestination(tmp_path / "volume").open_reader("A001"),
            path=relpath,
            writer=writer,
            relpath=f"A001/{relpath}",
            expected_xxh128=xxh128_bytes(data),
            size=len(data),
            on_progress=spy,
        )
    assert (target / "R1" / "A001" / name).read_bytes() == data
    assert seen and all(len(os.fsencode(temp)) <= 255 for temp in seen)
    assert not partial_files(target)
