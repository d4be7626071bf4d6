"""Restores never write outside their folder or their roots (issue 12, point 2), run by a real worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from catalog.models import MediaFile
from restore.models import RestoreRequest, RestoreTarget
from tests.fixtures import World
from tests.restore.conftest import Media, Workers, partial_files, wait_for
from tests.restore.test_restore_jobs import request_and_approve, run_to_end

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _tree(root: Path) -> set[str]:
    return {str(Path(d, n)) for d, _dirs, files in os.walk(root) for n in files}


def test_a_forged_file_path_in_the_catalog_cannot_make_a_restore_write_outside_its_folder(
    media: Media, workers: Workers
) -> None:
    forged = media.files[0]
    # What an admin could once type in the Django admin; the copies on disk are real.
    MediaFile.objects.filter(pk=forged.pk).update(relative_path="../../../../escaped.mov")
    before = _tree(media.root)
    workers.start()
    restore_id = request_and_approve(media)
    restore = run_to_end(media, workers, restore_id)

    assert restore.state == "failed"
    item = restore.items.get(media_file=forged)
    assert item.state == "failed" and "refused" in item.error
    # The other files went on and are restored and verified.
    others = restore.items.exclude(media_file=forged)
    assert {i.state for i in others} == {"verified"} and others.count() == 2
    folder = Path(media.targets["editorial"].path) / restore.folder
    new_files = _tree(media.root) - before
    assert new_files and all(Path(f).is_relative_to(folder) for f in new_files), new_files
    assert not any(Path(f).name == "escaped.mov" for f in _tree(media.root.parent))
    assert not partial_files(media.root)


def test_a_target_outside_the_restore_roots_is_refused_by_the_api(
    world: World, tmp_path: Path, settings: Any
) -> None:
    settings.REELVAULT_RESTORE_ROOTS = [tmp_path / "restore"]
    (tmp_path / "restore" / "editorial").mkdir(parents=True)
    (tmp_path / "restore" / "escape").symlink_to("/etc")
    admin = world.client("admin")
    cases = {
        "/etc": "outside the restore roots",
        str(tmp_path / "restore" / "escape"): "outside the restore roots",  # a symlink out of the root
        str(tmp_path / "restore" / ".." / "x"): ". or ..",
        "relative/folder": "absolute",
        str(tmp_path / "restore" / "a\nb"): "control character",
    }
    for path, message in cases.items():
        response = admin.post(
            "/api/restore-targets/", {"project": "FILM", "name": "grade", "path": path}, format="json"
        )
        assert response.status_code == 400, (path, response.content)
        assert message in str(response.json()["path"]), (path, response.json())
    assert not RestoreTarget.objects.filter(name="grade").exists()
    ok = admin.post(
        "/api/restore-targets/",
        {"project": "FILM", "name": "grade", "path": str(tmp_path / "restore" / "editorial")},
        format="json",
    )
    assert ok.status_code == 201, ok.content


def test_the_worker_refuses_a_target_outside_its_roots_whatever_the_catalog_says(
    media: Media, workers: Workers, settings: Any
) -> None:
    # The row was changed behind the API's back to a folder outside the roots.
    outside = media.root / "outside"
    outside.mkdir()
    RestoreTarget.objects.filter(pk=media.targets["editorial"].pk).update(path=str(outside))
    settings.REELVAULT_RESTORE_ROOTS = [media.root / "targets"]  # the worker inherits this
    workers.start()
    restore_id = request_and_approve(media)
    restore = run_to_end(media, workers, restore_id)
    assert restore.state == "failed"
    assert "outside the restore roots" in restore.error
    assert list(outside.iterdir()) == []
    wait_for(lambda: RestoreRequest.objects.get(pk=restore_id).finished_at is not None)
