"""Done-when scenarios with a real Celery worker (never eager): offload a card of real clips, then wait
for the per-clip extraction jobs the offload queued, and check the catalog, thumbnails, review queue
and an ALE round trip.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import Clip, Copy, Membership, Role
from catalog.permissions import RoleName
from metadata.models import MetadataExtraction, ReviewItem
from metadata.review import ingest_rules_update
from tests.fixtures import ProjectFactory, UserFactory, WorkerProcess
from tests.metadata.conftest import XML_BOMB, make_clip, needs_ffmpeg

pytestmark = [pytest.mark.integration, needs_ffmpeg]

CLEAN = {
    # name: (timecode, reel name in the file, rate)
    "A001C001_261102_R1AB": ("14:03:22:11", "A001R1AB", "25"),
    "A001C002_261102_R1AB": ("14:05:00:00", "A001R1AB", "25"),
    "A001C003_261102_R1AB": ("14:09:10:05", "A001R1AB", "25"),
}


def offload(card: Path, tmp_path: Path) -> dict[str, object]:
    out = io.StringIO()
    call_command(
        "offload", "--project", "FILM", "--source", str(card), "--dest", str(tmp_path / "raid"),
        "--dest", str(tmp_path / "shuttle"), "--json", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    summary: dict[str, object] = json.loads(out.getvalue().strip().splitlines()[-1])
    return summary


def wait_for_extraction(names: Iterable[str], timeout: float = 180) -> list[Clip]:
    names = list(names)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = MetadataExtraction.objects.filter(clip__name__in=names, state=MetadataExtraction.State.DONE)
        if done.count() == len(names):
            return list(Clip.objects.filter(name__in=names).order_by("name"))
        failed = MetadataExtraction.objects.filter(
            clip__name__in=names, state=MetadataExtraction.State.FAILED
        )
        assert not failed.exists(), list(failed.values_list("clip__name", "error"))
        time.sleep(0.5)
    states = dict(MetadataExtraction.objects.filter(clip__name__in=names).values_list("clip__name", "state"))
    raise AssertionError(f"extraction did not finish within {timeout} s: {states}")


@pytest.fixture
def project(transactional_db: None) -> object:
    # A transactional test empties every table afterwards, the roles a migration seeded included.
    Role.objects.get_or_create(name=RoleName.DIT.value, defaults={"label": "DIT"})
    project = ProjectFactory(code="FILM")
    dit = UserFactory(username="dit")
    Membership.objects.create(user=dit, project=project, role_id=RoleName.DIT.value)
    return project


def test_an_offloaded_card_gets_technical_metadata_thumbnails_and_round_trips_as_ale(
    project: object, media_root: Path, celery_worker_proc: WorkerProcess, tmp_path: Path
) -> None:
    card = tmp_path / "cards" / "A001"
    for name, (tc, reel, rate) in CLEAN.items():
        make_clip(card / f"{name}.mov", tc=tc, reel=reel, rate=rate, seconds=1)
    (card / ".DS_Store").write_bytes(b"\x00junk")
    summary = offload(card, tmp_path)
    assert summary["safe_to_format"] is True

    clips = wait_for_extraction(CLEAN)
    for clip in clips:
        tc, reel, rate = CLEAN[clip.name]
        assert (clip.codec, clip.resolution, clip.fps) == ("ProRes HQ", "320x180", Decimal(rate))
        assert (clip.duration_frames, clip.start_tc) == (25, tc)
        assert clip.extra["technical"]["reel"] == reel and clip.extra["technical"]["audio_channels"] == 2
        assert (clip.camera, clip.reel) == ("A", "A001")
        thumb = media_root / "thumbs" / "FILM" / f"{clip.pk}.jpg"
        assert thumb.read_bytes()[:2] == b"\xff\xd8", clip.name
        # Read from a verified copy on a destination, on the queue of this host.
        assert MetadataExtraction.objects.get(clip=clip).queue == celery_worker_proc.queue
    assert not ReviewItem.objects.filter(state=ReviewItem.State.OPEN).exists(), list(
        ReviewItem.objects.values_list("message", flat=True)
    )

    from django.test import Client

    client = Client()
    client.login(username="dit", password="correct horse battery staple")
    response = client.get(f"/clips/{clips[0].pk}/thumbnail/")
    assert response["Content-Type"] == "image/jpeg"

    # export -> import changes nothing
    out = tmp_path / "A001.ale"
    call_command("ale_export", "--project", "FILM", "--card", "A001", str(out), stdout=io.StringIO())
    before = list(Clip.objects.order_by("name").values())
    result = io.StringIO()
    call_command("ale_import", "--project", "FILM", str(out), "--apply", "--json", stdout=result)
    plan = json.loads(result.getvalue())
    assert plan["rows_parsed"] == 3 and len(plan["matched"]) == 3 and plan["clips_changed"] == 0
    assert list(Clip.objects.order_by("name").values()) == before


def test_a_messy_card_fills_the_review_queue_and_still_catalogs_every_clip(
    project: object, media_root: Path, celery_worker_proc: WorkerProcess, tmp_path: Path
) -> None:
    ingest_rules_update(
        actor=None,
        project=project,  # type: ignore[arg-type]
        naming_pattern="{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}",
        known_cameras=["A", "X"],
        camera_rules={"X": {"naming_pattern": "{camera}{roll:03}C{clip:03}_{date:%y%m%d}{card:2}"}},
    )
    first = tmp_path / "cards" / "A001"
    make_clip(first / "A001C001_261102_R1AB.mov", tc="10:00:00:00", rate="25")
    offload(first, tmp_path)
    messy = tmp_path / "cards" / "A002"
    make_clip(messy / "A001C001_261102_R1AB.mov", tc="11:00:00:00", rate="25")  # the same name again
    make_clip(messy / "A002C001_261102_R1AB.mov", tc="12:00:00:00", rate="25")
    make_clip(messy / "A002C002_261102_R1AB.mov", tc="12:01:00:00", rate="24")  # other rate, same roll
    make_clip(messy / "A002C003_261102_R1AB.mov", tc="12:02:00:00", rate="25")
    (messy / "A002C004_261102_R1AB.mov").write_bytes(os.urandom(64_000))  # not media ffprobe can read
    make_clip(messy / "XDROOT/Clip/X001C001_261102AB.mov", rate="25")
    (messy / "XDROOT/Clip/X001C001_261102ABM01.XML").write_bytes(XML_BOMB)
    make_clip(messy / "XDROOT/Clip/X001C002_261102AB.mov", rate="25")  # its M01.XML is missing
    make_clip(messy / "DCIM/MVI_0001.MOV", rate="25", make="Canon", model="EOS R5")
    offload(messy, tmp_path)
    names = [
        "A001C001_261102_R1AB", "A002C001_261102_R1AB", "A002C002_261102_R1AB", "A002C003_261102_R1AB",
        "A002C004_261102_R1AB", "X001C001_261102AB", "X001C002_261102AB", "MVI_0001",
    ]  # fmt: skip
    clips = {c.name: c for c in wait_for_extraction(names)}
    broken = clips["A002C004_261102_R1AB"]
    assert broken.codec == "" and Copy.objects.filter(media_file__clip=broken, state="verified").count() == 2

    open_items = {
        (i.clip.name, i.kind) for i in ReviewItem.objects.filter(state="open").select_related("clip")
    }
    assert open_items == {
        ("A001C001_261102_R1AB", "duplicate"),
        ("A002C002_261102_R1AB", "fps_roll"),
        ("A002C004_261102_R1AB", "probe"),
        ("X001C001_261102AB", "sidecar"),
        ("X001C002_261102AB", "missing_sidecar"),
        ("MVI_0001", "naming"),
        ("MVI_0001", "unknown_camera"),
    }

    from django.test import Client

    client = Client()
    client.login(username="dit", password="correct horse battery staple")
    page = client.get("/p/FILM/review/").content.decode()
    for text in (
        "was recorded on cards A001, A002",
        "24 fps, but roll A002 is 25 fps (2 of 3 clips)",
        "ffprobe cannot read A002/A002C004_261102_R1AB.mov",
        "refused unsafe XML",
        "Sony clip without its X001C002_261102ABM01.XML sidecar",
        "MVI_0001 does not follow the naming schema",
        "the camera could not be told from the name",
    ):
        assert text in page, text
    placeholder = client.get(f"/clips/{broken.pk}/thumbnail/")
    assert placeholder["Content-Type"] == "image/svg+xml"
