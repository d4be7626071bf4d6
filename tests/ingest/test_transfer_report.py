"""The transfer report as a hand-off document, through the offload command, metadata extraction and the pages.

Real camera-like files (ffmpeg-made) so that poster frames exist; the PDF is
read back with poppler's pdftotext/pdfimages, not with the library that wrote it.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import Clip, ShootDay
from ingest.models import OffloadJob
from tests.fixtures import World
from tests.ingest.test_offload_command import run_offload

pytestmark = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("pdftotext") and shutil.which("pdfimages")),
    reason="needs ffmpeg and poppler-utils",
)
CLIPS = ("A001C001_261102_R1AB", "A001C002_261102_R1AB")


def digest(name: str, data: bytes) -> str:
    """Independent truth for MD5 and SHA-1 (checksums for hand-off, not for security)."""
    return hashlib.new(name, data, usedforsecurity=False).hexdigest()


def make_video(path: Path, colour: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=160x90:d=1:r=24",
         "-c:v", "mpeg4", "-y", str(path)],
        check=True, timeout=60,
    )  # fmt: skip


def offload_with_poster_frames(world: World, tmp_path: Path, settings: Any) -> tuple[OffloadJob, Path]:
    """Offload a card of two real clips and an empty folder to two folders with MD5 and SHA-1, on day 7,
    then extract metadata (poster frames) with the clip_metadata command."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TIME_ZONE = "Europe/Paris"
    card = tmp_path / "cards" / "A001"
    make_video(card / "Clips" / f"{CLIPS[0]}.mov", "red")
    make_video(card / "Clips" / f"{CLIPS[1]}.mov", "blue")
    (card / "Empty").mkdir()
    dit = world.users["dit"]
    dit.first_name, dit.last_name = "Dana", "Imaging"
    dit.save()
    world.project.production_company = "Northlight Pictures"
    world.project.save(update_fields=["production_company"])
    day = ShootDay.objects.create(project=world.project, number=7, date=datetime.date(2026, 11, 2))
    code, _, err = run_offload(
        "--project", "FILM", "--source", str(card), "--dest", str(tmp_path / "raid"),
        "--dest", str(tmp_path / "shuttle"), "--hash", "md5", "--hash", "sha1", "--day", str(day.number),
    )  # fmt: skip
    assert code == 0, err
    call_command("clip_metadata", "--project", "FILM", "--card", "A001", stdout=io.StringIO())
    job = OffloadJob.objects.get(label="A001")
    job.created_by = dit  # as if started from the page by this DIT
    job.save(update_fields=["created_by"])
    return job, card


@pytest.fixture
def offloaded(world: World, tmp_path: Path, settings: Any) -> tuple[World, OffloadJob, Path]:
    job, card = offload_with_poster_frames(world, tmp_path, settings)
    return world, job, card


def test_report_page_is_a_hand_off_document(
    offloaded: tuple[World, OffloadJob, Path], tmp_path: Path
) -> None:
    world, job, card = offloaded
    page = world.client("producer").get(f"/offloads/{job.pk}/report/").content.decode()
    clip_file = card / "Clips" / f"{CLIPS[0]}.mov"
    data = clip_file.read_bytes()
    # Every checksum computed, named for people.
    for name in ("XXH3-128", "MD5", "SHA-1"):
        assert f'<th scope="col">{name}</th>' in page
    assert digest("md5", data) in page and digest("sha1", data) in page
    # Production header.
    assert world.project.name in page and "Day 7" in page and "Dana Imaging" in page
    assert "<dt>Production company</dt><dd>Northlight Pictures</dd>" in page
    assert "<dd>A</dd>" in page  # the camera, recognised from the clip names
    # Local times with the zone, never ISO; human sizes.
    assert "CET" in page and "T0" not in page.split("<h2>Transfer</h2>")[1].split("</dl>")[0]
    assert " kB" in page or " KB" in page
    # Where each card copy and its ASC MHL history are.
    for dest in ("raid", "shuttle"):
        assert f"{tmp_path / dest / 'A001'}</code>" in page
        assert f"{tmp_path / dest / 'A001' / 'ascmhl'}/0001_A001_" in page
    # A poster frame per clip, the ones metadata extraction made.
    for name in CLIPS:
        clip = Clip.objects.get(name=name, project=world.project)
        assert clip.thumbnail_url and f'src="{clip.thumbnail_url}"' in page


def test_report_pdf_embeds_poster_frames_and_every_checksum(
    offloaded: tuple[World, OffloadJob, Path], tmp_path: Path
) -> None:
    world, job, card = offloaded
    response = world.client("dit").get(f"/offloads/{job.pk}/report.pdf")
    assert response.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    pdftotext = ["pdftotext", "-layout", str(pdf), "-"]
    text = subprocess.run(pdftotext, capture_output=True, text=True, check=True).stdout
    data = (card / "Clips" / f"{CLIPS[1]}.mov").read_bytes()
    assert digest("sha1", data) in text and digest("md5", data) in text
    assert "Day 7" in text and "Dana Imaging" in text and "CET" in text and "Northlight Pictures" in text
    assert f"{tmp_path / 'raid' / 'A001' / 'ascmhl'}/0001_A001_" in text
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    assert len(images.stdout.strip().splitlines()) - 2 == len(CLIPS)  # two header lines, one per poster frame
    csv = world.client("dit").get(f"/offloads/{job.pk}/report.csv").content.decode()
    assert "path,size,xxh128,md5,sha1,RAID,SHUTTLE" in csv
