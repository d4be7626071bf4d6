"""Any name a camera or an OS can write, and no crash that blocks a card (issue 12, points 3 and 4).

End to end: a card is offloaded by the `offload` command (the engine, the
catalog, the ASC MHL history), then restored by a real Celery worker, and
the bytes and names on disk are compared with what the test wrote.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Copy, MediaFile
from copyengine import fsnames, mhl
from ingest.models import OffloadJob
from restore.models import RestoreTarget
from tests.fixtures import World
from tests.ingest.test_offload_command import ASCMHL_DEBUG, reference_tool, run_offload
from tests.restore.conftest import Workers, host, wait_for, workers, xxh128_file

__all__ = ["host", "workers"]  # fixtures used here

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LONG = "A001C001_" + "L" * 237 + ".mov"  # 250 bytes
LONGEST = "A001C002_" + "M" * 242 + ".mov"  # 255 bytes: the most a name can have
LATIN1 = os.fsdecode(b"A001C003_caf\xe9.mov")  # not UTF-8: a Latin-1 e-acute
BACKSLASH = "A001C004_take\\2.mov"
NORMAL = "A001C005_261102_R1AB.mov"


def _card(root: Path) -> dict[str, bytes]:
    files = {LONG: b"1" * 3000, LONGEST: b"2" * 4000, LATIN1: b"3" * 5000, BACKSLASH: b"4" * 6000}
    files[NORMAL] = b"5" * 7000
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def _catalog_name(name: str) -> str:
    return fsnames.from_fs(name)


def test_long_non_utf8_and_backslash_names_offload_catalog_and_restore_faithfully(
    world: World, tmp_path: Path, host: str, workers: Workers
) -> None:
    assert len(os.fsencode(LONGEST)) == 255 and len(os.fsencode(LONG)) == 250
    files = _card(tmp_path / "cards" / "A001")
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    code, summary, err = run_offload(
        "--project",
        "FILM",
        "--source",
        str(tmp_path / "cards" / "A001"),
        "--dest",
        str(raid),
        "--dest",
        str(shuttle),
    )
    assert summary["state"] == "completed", (summary, err)
    assert code == 0
    job = OffloadJob.objects.get(label="A001")
    assert not job.error
    for dest in (raid, shuttle):
        for name, data in files.items():
            assert (dest / "A001" / name).read_bytes() == data, name
    # Cataloged faithfully: the catalog name maps back to the very bytes on the card.
    cataloged = dict(MediaFile.objects.values_list("relative_path", "xxh128"))
    assert set(cataloged) == {_catalog_name(n) for n in files}
    for name in files:
        assert cataloged[_catalog_name(name)] == xxh128_file(tmp_path / "cards" / "A001" / name)
        assert fsnames.to_fs(_catalog_name(name)) == name
    assert Copy.objects.filter(state="verified").count() == 2 * len(files)
    # ASC MHL cannot record two of them: each is a problem of its own, the rest is in the history.
    notes = {p["path"]: p["message"] for p in job.summary["scan_problems"] if p["kind"] == "not_in_mhl"}
    assert set(notes) == {_catalog_name(LATIN1), BACKSLASH}
    assert "not UTF-8" in notes[_catalog_name(LATIN1)] and "backslash" in notes[BACKSLASH]
    page = world.client("dit").get(f"/offloads/{job.pk}/").content.decode()
    assert "Not in the ASC MHL history" in page
    recorded = {e.path for g in mhl.read_history(raid / "A001").generations for e in g.hashes}
    assert recorded == {LONG, LONGEST, NORMAL}

    # Restore every file to a target, on the target host's worker.
    (tmp_path / "targets" / "editorial").mkdir(parents=True)
    RestoreTarget.objects.create(
        project=world.project, name="editorial", host=host, path=str(tmp_path / "targets" / "editorial")
    )
    workers.start()
    response = world.client("editor").post(
        "/api/restores/", {"clips": {"card": "A001"}, "target": "editorial", "reason": "names"}, format="json"
    )
    assert response.status_code == 201, response.content
    restore_id = response.json()["id"]
    assert (
        world.client("admin").post(f"/api/restores/{restore_id}/approve/", {"comment": "ok"}).status_code
        == 200
    )
    from restore.models import RestoreRequest

    wait_for(
        lambda: RestoreRequest.objects.get(pk=restore_id).state in RestoreRequest.FINISHED,
        timeout=120,
        message=workers.logs(),
    )
    restore = RestoreRequest.objects.get(pk=restore_id)
    assert restore.state == "verified", restore.error
    folder = tmp_path / "targets" / "editorial" / restore.folder / "A001"
    for name, data in files.items():
        assert (folder / name).read_bytes() == data, name
    assert not [p for p in folder.parent.rglob("*") if p.name.endswith(".reelvault-partial")]
    notes = dict(restore.items.exclude(error="").values_list("path", "error"))
    assert set(notes) == {f"A001/{_catalog_name(LATIN1)}", f"A001/{BACKSLASH}"}


def test_one_failing_file_never_skips_the_files_after_it(world: World, tmp_path: Path) -> None:
    files = _card(tmp_path / "cards" / "A001")
    raid = tmp_path / "raid"
    # Something else sits where the first file (in copy order) should go on the RAID.
    first = sorted(files)[0]
    (raid / "A001" / first).mkdir(parents=True)
    code, _, _ = run_offload(
        "--project", "FILM", "--source", str(tmp_path / "cards" / "A001"), "--dest", str(raid)
    )
    assert code == 1
    for name, data in files.items():
        if name != first:
            assert (raid / "A001" / name).read_bytes() == data, name
    verified = set(Copy.objects.filter(state="verified").values_list("media_file__relative_path", flat=True))
    assert verified == {_catalog_name(n) for n in files} - {first}


def test_a_kill_between_a_generation_and_its_chain_does_not_block_the_card(
    world: World, tmp_path: Path
) -> None:
    files = _card(tmp_path / "cards" / "A001")
    raid = tmp_path / "raid"
    source = str(tmp_path / "cards" / "A001")
    assert run_offload("--project", "FILM", "--source", source, "--dest", str(raid))[1]["files"] == len(files)
    chain = raid / "A001" / "ascmhl" / mhl.CHAIN_FILE
    before = chain.read_bytes()
    run_offload("--project", "FILM", "--source", source, "--dest", str(raid))
    chain.write_bytes(before)  # the second run "was killed" after its generation, before its chain
    mhl.clear_parse_cache()
    assert mhl.read_history(raid / "A001").problems  # what blocked every later run

    _, summary, err = run_offload("--project", "FILM", "--source", source, "--dest", str(raid))
    job = OffloadJob.objects.order_by("-pk").first()
    assert job is not None and not any("ASC MHL" in r for r in summary.get("not_safe_reasons", [])), err
    assert not job.error and "ASC MHL history could not be written" not in str(job.summary)
    history = mhl.read_history(raid / "A001")
    assert history.problems == () and [g.sequence_number for g in history.generations] == [1, 2, 3]
    if ASCMHL_DEBUG.exists():
        # The reference tool agrees, apart from the two names it cannot know (reported per file).
        for name in (LATIN1, BACKSLASH):
            (raid / "A001" / name).unlink()
        result: subprocess.CompletedProcess[Any] = reference_tool(
            str(ASCMHL_DEBUG), "verify", str(raid / "A001")
        )
        assert result.returncode == 0, result.stdout + result.stderr
