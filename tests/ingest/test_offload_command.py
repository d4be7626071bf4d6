"""`manage.py offload` end to end: real files, real catalog, the ASC reference tool as the judge."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from alerts.models import Alert
from catalog.models import AuditEvent, Clip, Copy, MediaFile
from ingest.models import OffloadJob
from tests.fixtures import VolumeFactory, World
from tests.ingest.conftest import partial_files, write_card, xxh128_file

ROOT = Path(__file__).resolve().parents[2]
ASCMHL_DEBUG = ROOT / ".venv-tools" / "bin" / "ascmhl-debug"
ASCMHL = ROOT / ".venv-tools" / "bin" / "ascmhl"

CARD_FILES = {
    "A001C001_261102_R1AB.mov": os.urandom(300_000),
    "A001C002_261102_R1AB.mov": os.urandom(120_000),
    "A001C002_261102_R1AB.xml": b"<xml>sidecar</xml>",
    "Sub Folder/Ünïcode clip.mov": os.urandom(5_000),
    ".DS_Store": b"\x00\x01junk",
    "empty.txt": b"",
}


def run_offload(*args: str) -> tuple[int, dict[str, object], str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("offload", *args, "--json", stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def reference_tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    return subprocess.run([str(args[0]), *args[1:]], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return write_card(tmp_path / "cards" / "A001", CARD_FILES)


def test_offload_to_two_folders_verifies_and_catalogs_every_copy(
    world: World, card: Path, tmp_path: Path
) -> None:
    d1, d2 = tmp_path / "raid", tmp_path / "shuttle"
    code, summary, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(d2)
    )
    assert code == 0, err
    assert summary["safe_to_format"] is True and summary["state"] == "completed"
    assert summary["files"] == len(CARD_FILES)
    assert summary["source_bytes_read"] == sum(len(v) for v in CARD_FILES.values())

    for dest in (d1, d2):
        for relpath, data in CARD_FILES.items():
            assert (dest / "A001" / relpath).read_bytes() == data
        assert not partial_files(dest)

    files = MediaFile.objects.filter(card__label="A001")
    assert files.count() == len(CARD_FILES)
    for media_file in files:
        assert media_file.xxh128 == xxh128_file(card / media_file.relative_path)
        states = sorted(media_file.copies.values_list("state", flat=True))
        assert states == [Copy.State.VERIFIED, Copy.State.VERIFIED]
    # One clip per camera clip: the sidecar joins its clip.
    clip = Clip.objects.get(name="A001C002_261102_R1AB")
    assert sorted(clip.files.values_list("relative_path", flat=True)) == [
        "A001C002_261102_R1AB.mov",
        "A001C002_261102_R1AB.xml",
    ]
    assert (clip.camera, clip.reel) == ("A", "A001")
    job = OffloadJob.objects.get(label="A001")
    assert AuditEvent.objects.filter(action="offload.finish", object_id=str(job.pk)).exists()
    assert AuditEvent.objects.filter(action="offload.files").count() >= 3


@pytest.mark.skipif(
    not ASCMHL_DEBUG.exists(), reason="the ASC MHL reference tool is not installed (make test)"
)
def test_reference_tool_accepts_each_destination_and_can_append(
    world: World, card: Path, tmp_path: Path
) -> None:
    d1, d2 = tmp_path / "raid", tmp_path / "shuttle"
    code, _, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(d2), "--hash", "md5"
    )
    assert code == 0, err
    for dest in (d1, d2):
        root = dest / "A001"
        verified = reference_tool(str(ASCMHL_DEBUG), "verify", str(root))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert reference_tool(str(ASCMHL), "info", str(root)).returncode == 0
        assert reference_tool(str(ASCMHL), "diff", str(root)).returncode == 0
        appended = reference_tool(str(ASCMHL), "create", str(root), "-h", "xxh128")
        assert appended.returncode == 0, appended.stdout + appended.stderr
        assert len(list((root / "ascmhl").glob("*.mhl"))) == 2
    # Our own verifier reads the combined history and records the proof.
    out = io.StringIO()
    call_command("mhl_verify", str(d1 / "A001"), stdout=out)
    assert "OK" in out.getvalue()


def test_rerun_resumes_without_copying_again(world: World, card: Path, tmp_path: Path) -> None:
    d1 = tmp_path / "raid"
    assert (
        run_offload(
            "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(tmp_path / "s")
        )[0]
        == 0
    )
    code, summary, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(tmp_path / "s")
    )
    assert code == 0, err
    destinations = summary["destinations"]
    assert isinstance(destinations, dict)
    assert all(d["bytes_written"] == 0 for d in destinations.values())
    assert Copy.objects.filter(state=Copy.State.VERIFIED).count() == 2 * len(CARD_FILES)


def test_a_byte_flipped_after_the_copy_is_caught_and_recorded(
    world: World, card: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    d1 = tmp_path / "raid"
    assert (
        run_offload(
            "--project", "FILM", "--source", str(card), "--dest", str(d1), "--dest", str(tmp_path / "s")
        )[0]
        == 0
    )
    victim = d1 / "A001" / "A001C001_261102_R1AB.mov"
    data = bytearray(victim.read_bytes())
    data[1000] ^= 0xFF
    victim.write_bytes(bytes(data))
    err = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SystemExit) as exit_info:
        call_command("mhl_verify", str(d1 / "A001"), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 1
    alert = Alert.objects.get(kind="copy.corrupt")
    assert alert.details["items"] == ["A001/A001C001_261102_R1AB.mov"]
    assert "A001C001_261102_R1AB.mov" in err.getvalue()
    copy = Copy.objects.get(volume__location=str(d1.resolve()), path="A001/A001C001_261102_R1AB.mov")
    assert copy.state == Copy.State.CORRUPT


def test_card_carrying_an_mhl_history_keeps_it_and_a_mismatch_is_loud(
    world: World, samples: Path, tmp_path: Path
) -> None:
    good = tmp_path / "cards" / "A002R2EC"
    shutil.copytree(samples / "mhl/ascmhl_v2/scenario_03_md5_added/A002R2EC", good)
    code, summary, err = run_offload(
        "--project",
        "FILM",
        "--source",
        str(good),
        "--dest",
        str(tmp_path / "d1"),
        "--dest",
        str(tmp_path / "d2"),
    )
    assert code == 0, err
    history = sorted(p.name for p in (tmp_path / "d1" / "A002R2EC" / "ascmhl").glob("*.mhl"))
    assert len(history) == 3 and history[:2] == sorted(p.name for p in (good / "ascmhl").glob("*.mhl"))
    if ASCMHL_DEBUG.exists():
        result = reference_tool(str(ASCMHL_DEBUG), "verify", str(tmp_path / "d1" / "A002R2EC"))
        assert result.returncode == 0, result.stdout + result.stderr

    # The same card after one clip changed on it: the card's own history disagrees.
    bad = tmp_path / "cards2" / "A002R2EC"
    shutil.copytree(good, bad)
    (bad / "Clips" / "A002C006_141024_R2EC.mov").write_bytes(b"tampered")
    code, summary, _ = run_offload(
        "--project",
        "FILM",
        "--source",
        str(bad),
        "--label",
        "A002R2EC-B",
        "--dest",
        str(tmp_path / "d3"),
        "--dest",
        str(tmp_path / "d4"),
    )
    assert code == 1
    assert summary["safe_to_format"] is False
    failures = summary["failures"]
    assert isinstance(failures, list)
    assert any("A002C006_141024_R2EC.mov" in f for f in failures)


def test_source_and_destination_overlapping_is_refused(world: World, card: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"inside|nested|same"):
        call_command(
            "offload",
            "--project",
            "FILM",
            "--source",
            str(card),
            "--dest",
            str(card / "backup"),
            stdout=io.StringIO(),
        )
    assert not MediaFile.objects.exists()
    assert not (card / "backup" / "A001").exists()


def test_unknown_project_is_a_one_line_error(world: World, card: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no project NOPE"):
        call_command("offload", "--project", "NOPE", "--source", str(card), "--dest", "/tmp/x")


def test_a_folder_whose_label_and_host_label_are_both_taken_is_one_clear_error(
    world: World, card: Path, tmp_path: Path
) -> None:
    host = settings.REELVAULT_HOSTNAME
    VolumeFactory(project=world.project, label="RAID", location="/srv/elsewhere")
    VolumeFactory(project=world.project, label=f"RAID-{host}", host=host, location="/srv/other-raid")
    with pytest.raises(CommandError) as error:
        call_command("offload", "--project", "FILM", "--source", str(card), "--dest", str(tmp_path / "raid"))
    message = str(error.value)
    assert "\n" not in message
    assert f"RAID-{host.upper()} is {host}:/srv/other-raid" in message and "--dest" in message
    assert not (tmp_path / "raid").exists() and not OffloadJob.objects.exists()
