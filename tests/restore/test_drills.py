"""Drill clean-up on real folders: it deletes the drill's restore folder and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore.services.drills import restore_folder_remove


def test_drill_cleanup_refuses_anything_outside_the_target(tmp_path: Path) -> None:
    (tmp_path / "target" / "R1").mkdir(parents=True)
    with pytest.raises(ValueError, match="not inside"):
        restore_folder_remove(folder=tmp_path / "target", inside=tmp_path / "target")
    with pytest.raises(ValueError, match="not inside"):
        restore_folder_remove(folder=tmp_path, inside=tmp_path / "target")
    restore_folder_remove(folder=tmp_path / "target" / "R1", inside=tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []
