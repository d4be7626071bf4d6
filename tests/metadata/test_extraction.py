"""Extraction through `manage.py clip_metadata`: real ffmpeg clips, real sidecars, checked in the DB."""

from __future__ import annotations

import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog.models import AuditEvent, Clip
from metadata import extraction as metadata
from metadata.models import MetadataExtraction, ReviewItem
from tests.fixtures import World
from tests.metadata.conftest import XML_BOMB, catalog_card, make_clip, needs_ffmpeg, sony_xml

pytestmark = needs_ffmpeg


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("clip_metadata", "--project", "FILM", *args, stdout=out)
    return out.getvalue()


def open_items(clip: Clip, kind: str | None = None) -> list[ReviewItem]:
    items = ReviewItem.objects.filter(clip=clip, state=ReviewItem.State.OPEN)
    return list(items.filter(kind=kind) if kind else items)


def test_extraction_fills_technical_metadata_and_makes_a_thumbnail(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    source = make_clip(tmp_path / "src.mov", tc="14:03:22:11", reel="A001R1AB", rate="25", seconds=1)
    card = catalog_card(world.project, tmp_path / "raid", "A001", {"B001C001_261102_R1AB.mov": source})
    output = run("--card", "A001")
    clip = Clip.objects.get(name="B001C001_261102_R1AB")
    assert "B001C001_261102_R1AB: ProRes HQ 320x180" in output
    assert (clip.codec, clip.resolution, clip.fps, clip.duration_frames) == (
        "ProRes HQ",
        "320x180",
        Decimal(25),
        25,
    )
    assert clip.start_tc == "14:03:22:11"
    # Filled by offload from the name already: extraction never overwrites a value.
    assert (clip.camera, clip.reel) == ("B", "B001")
    tech = clip.extra["technical"]
    assert (tech["container"], tech["reel"], tech["camera_make"], tech["camera_model"]) == (
        "mov",
        "A001R1AB",
        "ARRI",
        "ALEXA Mini LF",
    )
    assert tech["audio_channels"] == 2 and tech["created_at"].startswith("2026-11-02T10:00:00")
    assert clip.extra["camera_name"] == {
        "vendor": "arri",
        "camera": "B",
        "roll": 1,
        "clip": 1,
        "date": "2026-11-02",
        "month_day": None,
        "card": "R1AB",
    }
    thumb = media_root / "thumbs" / "FILM" / f"{clip.pk}.jpg"
    assert thumb.read_bytes()[:2] == b"\xff\xd8"
    assert clip.extra["thumbnail"] == f"thumbs/FILM/{clip.pk}.jpg"
    assert MetadataExtraction.objects.get(clip=clip).state == MetadataExtraction.State.DONE
    event = AuditEvent.objects.filter(action="clip.extract", object_id=str(clip.pk)).get()
    assert event.before == {
        "codec": "",
        "resolution": "",
        "fps": None,
        "duration_frames": None,
        "start_tc": "",
    }
    assert event.after["codec"] == "ProRes HQ" and event.after["thumbnail"] is True
    assert not open_items(clip), [i.message for i in open_items(clip)]
    assert card.card.label == "A001"


def test_a_clip_ffprobe_cannot_read_is_still_cataloged_with_the_problem_in_review(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    catalog_card(world.project, tmp_path / "raid", "A002", {"B002C007_261102_R1AB.mov": os.urandom(50_000)})
    run("--card", "A002")
    clip = Clip.objects.get(name="B002C007_261102_R1AB")
    assert clip.codec == "" and clip.fps is None
    (item,) = open_items(clip, ReviewItem.Kind.PROBE)
    assert item.message.startswith(
        "ffprobe cannot read A002/B002C007_261102_R1AB.mov: Invalid data found when processing input"
    )
    assert "cataloged without technical metadata" in item.message
    assert item.media_file is not None and item.media_file.relative_path == "B002C007_261102_R1AB.mov"
    assert not (media_root / "thumbs" / "FILM" / f"{clip.pk}.jpg").exists()
    assert MetadataExtraction.objects.get(clip=clip).state == MetadataExtraction.State.DONE


def test_sony_sidecar_gives_lens_and_a_timecode_disagreement_is_reported(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    good = make_clip(tmp_path / "good.mov", tc="10:00:00:00", rate="25", seconds=1)
    off = make_clip(tmp_path / "off.mov", tc="11:00:00:00", rate="25", seconds=1)
    catalog_card(
        world.project,
        tmp_path / "raid",
        "X001",
        {
            "Clip/X001C001_261102AB.mov": good,
            "Clip/X001C001_261102ABM01.XML": sony_xml(start="10:00:00:00", end="10:00:00:24"),
            "Clip/X001C002_261102AB.mov": off,
            "Clip/X001C002_261102ABM01.XML": sony_xml(start="10:00:00:00", end="10:00:00:24"),
        },
    )
    run("--card", "X001")
    first = Clip.objects.get(name="X001C001_261102AB")
    assert first.lens == "FE 24-70mm F2.8 GM"
    assert first.codec == "ProRes HQ"  # the media wins over the sidecar for technical fields
    assert first.extra["sidecar"]["codec"] == "XAVC_S_422_10bit"
    assert first.extra["sidecar"]["camera_model"] == "ILME-FX6"
    assert not open_items(first)
    second = Clip.objects.get(name="X001C002_261102AB")
    messages = sorted(i.message for i in open_items(second, ReviewItem.Kind.TIMECODE))
    assert messages == [
        "start 11:00:00:00 + 25 frames ends at 11:00:00:24, "
        "but the sidecar says the last frame is 10:00:00:24",
        "the media starts at 11:00:00:00 but its sidecar X001C002_261102ABM01.XML says 10:00:00:00",
    ]


def test_an_xml_bomb_sidecar_is_refused_and_reported_while_the_clip_is_still_read(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    catalog_card(
        world.project,
        tmp_path / "raid",
        "X002",
        {"X002C001_261102AB.mov": source, "X002C001_261102ABM01.XML": XML_BOMB},
    )
    run("--card", "X002")
    clip = Clip.objects.get(name="X002C001_261102AB")
    (item,) = open_items(clip, ReviewItem.Kind.SIDECAR)
    assert item.message.startswith("X002C001_261102ABM01.XML: refused unsafe XML (DTDForbidden)")
    assert item.message.endswith("its values were not used")
    assert clip.lens == "" and "sidecar" not in clip.extra
    assert clip.codec == "ProRes HQ"


def test_a_sony_clip_without_its_xml_is_a_missing_sidecar(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    catalog_card(world.project, tmp_path / "raid", "X003", {"X003C004_261102AB.mov": source})
    run("--card", "X003")
    clip = Clip.objects.get(name="X003C004_261102AB")
    (item,) = open_items(clip, ReviewItem.Kind.MISSING_SIDECAR)
    assert "without its X003C004_261102ABM01.XML sidecar" in item.message


def test_a_red_clip_of_many_files_is_one_clip_and_its_raw_files_are_not_probed(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    folder = "A002_C005_0815XY.RDM/A002_C005_0815XY.RDC"
    card = catalog_card(
        world.project,
        tmp_path / "raid",
        "A002RED",
        {
            f"{folder}/A002_C005_0815XY_001.R3D": os.urandom(4000),
            f"{folder}/A002_C005_0815XY_002.R3D": os.urandom(4000),
            f"{folder}/A002_C005_0815XY.RMD": b"<rmd/>",
        },
    )
    assert list(card.clips) == ["A002_C005_0815XY"]
    run("--card", "A002RED")
    clip = Clip.objects.get(name="A002_C005_0815XY")
    assert clip.files.count() == 3
    assert (clip.camera, clip.reel) == ("A", "A002")
    assert clip.extra["camera_name"]["month_day"] == [8, 15]
    (item,) = open_items(clip, ReviewItem.Kind.PROBE)
    assert "ffprobe cannot read .r3d RAW files and no sidecar gave the technical metadata" in item.message


def test_a_red_clip_takes_its_technical_metadata_from_a_redline_sidecar(
    world: World, tmp_path: Path, media_root: Path, samples: Path
) -> None:
    static = samples / "camera_sidecar" / "red_redline" / "A001_C066_0303LZ_001.static.csv"
    frames = samples / "camera_sidecar" / "red_redline" / "A001_C066_0303LZ_001.frames.csv"
    catalog_card(
        world.project,
        tmp_path / "raid",
        "A001RED",
        {
            "A001_C066_0303LZ_001.R3D": os.urandom(2000),
            "A001_C066_0303LZ_002.R3D": os.urandom(2000),
            "A001_C066_0303LZ_001.static.csv": static,
            "A001_C066_0303LZ_001.frames.csv": frames,
        },
    )
    run("--card", "A001RED")
    clip = Clip.objects.get(name="A001_C066_0303LZ")
    assert clip.codec and clip.resolution and clip.fps is not None and clip.start_tc
    assert clip.extra["sidecar"]["format"] == "red_static"
    assert not open_items(clip, ReviewItem.Kind.PROBE)
    # The camera settings land in their own columns, from REDline's static values.
    assert (clip.iso, clip.white_balance_k, clip.shutter, clip.iris) == (250, 5600, "180°", "F5.6")
    assert (clip.focal_length_mm, clip.sensor_fps) == (Decimal("40.0"), Decimal("24.000"))
    assert clip.look == "A001_C066_0303LZ-RED_FilmBias.cube"
    # … and the search finds the clip by them.
    found = world.client("editor").get(
        "/api/clips/", {"iso": "250", "look": "a001_c066_0303lz-red_filmbias.cube"}
    )
    assert [c["name"] for c in found.json()["results"]] == ["A001_C066_0303LZ"]
    assert world.client("editor").get("/api/clips/", {"iso": "800"}).json()["count"] == 0


def test_a_missing_ffprobe_is_reported_clearly_and_closed_once_it_is_installed(
    world: World, tmp_path: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    catalog_card(world.project, tmp_path / "raid", "A003", {"B003C001_261102_R1AB.mov": source})
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    err = io.StringIO()
    call_command("clip_metadata", "--project", "FILM", "--card", "A003", stdout=io.StringIO(), stderr=err)
    assert "ffprobe/ffmpeg are not installed: install Debian's ffmpeg package (apt-get install ffmpeg)" in (
        err.getvalue()
    )
    clip = Clip.objects.get(name="B003C001_261102_R1AB")
    (item,) = open_items(clip, ReviewItem.Kind.PROBE)
    assert item.message.startswith(
        "ffprobe is not installed: install Debian's ffmpeg package (apt-get install ffmpeg)"
    )
    monkeypatch.setenv("PATH", path)
    run("--card", "A003")
    item.refresh_from_db()
    assert (item.state, item.resolution) == (
        ReviewItem.State.FIXED,
        "read successfully by a later extraction",
    )
    clip.refresh_from_db()
    assert clip.codec == "ProRes HQ"


def test_re_extraction_never_overwrites_a_hand_edit(world: World, tmp_path: Path, media_root: Path) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    catalog_card(
        world.project,
        tmp_path / "raid",
        "X004",
        {"X004C001_261102AB.mov": source, "X004C001_261102ABM01.XML": sony_xml()},
    )
    Clip.objects.filter(name="X004C001_261102AB").update(lens="Cooke S4 32mm")
    run("--card", "X004")
    run("--card", "X004")
    clip = Clip.objects.get(name="X004C001_261102AB")
    assert clip.lens == "Cooke S4 32mm"
    assert clip.extra["sidecar"]["lens"] == "FE 24-70mm F2.8 GM"


def test_an_extraction_job_runs_once_however_often_it_is_delivered(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    card = catalog_card(world.project, tmp_path / "raid", "A004", {"B004C001_261102_R1AB.mov": source})
    clip = card.clips["B004C001_261102_R1AB"]
    MetadataExtraction.objects.create(clip=clip, state=MetadataExtraction.State.QUEUED)
    assert metadata.clip_metadata_extract_run(clip_id=clip.pk) is not None
    assert metadata.clip_metadata_extract_run(clip_id=clip.pk) is None
    assert AuditEvent.objects.filter(action="clip.extract", object_id=str(clip.pk)).count() == 1
    assert MetadataExtraction.objects.get(clip=clip).attempts == 1


def test_a_clip_whose_copies_are_on_another_host_is_routed_there(
    world: World, tmp_path: Path, media_root: Path
) -> None:
    source = make_clip(tmp_path / "s.mov", rate="25")
    card = catalog_card(
        world.project,
        tmp_path / "raid",
        "A005",
        {"B005C001_261102_R1AB.mov": source},
        raid_label="CART-2",
        host="cart2",
    )
    clip = card.clips["B005C001_261102_R1AB"]
    files = list(clip.files.prefetch_related("copies__volume"))
    assert metadata.extraction_queue(files) == "host.cart2"
    assert settings.REELVAULT_HOSTNAME != "cart2"
    run("--card", "A005")  # run here anyway: the copy is not mounted on this host
    (item,) = open_items(clip, ReviewItem.Kind.NO_COPY)
    assert item.message.startswith("B005C001_261102_R1AB.mov: no verified copy on a volume mounted on host")
