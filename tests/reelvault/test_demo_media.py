"""The demo's media are real, tiny camera-like movies: ffprobe reads them, poster frames are made, and no
demo clip lands in the review queue as unreadable; seeding again makes and queues nothing more."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import Clip, MediaFile
from metadata.extraction import thumbnail_path
from metadata.models import MetadataExtraction, ReviewItem
from reelvault import demo_media

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

UNREADABLE = ("probe", "thumbnail", "no_copy", "sidecar")


def seed(**options: Any) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--clips", "12", stdout=out, **options)
    return out.getvalue()


def test_the_seeded_demo_has_playable_media_and_nothing_unreadable_in_the_review_queue(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    out = seed(extract="now")
    assert "demo clips probed, poster frames made: 12" in out
    clips = list(Clip.objects.filter(project__code="DEMO"))
    assert len(clips) == 12
    for clip in clips:
        technical = clip.extra["technical"]
        assert technical["codec"].startswith("H.264") and (technical["width"], technical["height"]) == (
            320,
            180,
        )
        assert technical["reel"] == clip.reel and technical["start_tc"].endswith(":00:00:00")
        assert technical["camera_make"] == "ARRI"
        assert thumbnail_path(clip).is_file() and clip.thumbnail_url
    # Unreadable media would be one of these kinds: there is none.
    assert not ReviewItem.objects.filter(project__code="DEMO", kind__in=UNREADABLE).exists()
    # Every clip's file is its own (no two hashes alike), on one roll movie per camera roll.
    assert MediaFile.objects.filter(clip__project__code="DEMO").values("xxh128").distinct().count() == 12
    assert sorted(p.name for p in (tmp_path / "demo-media").iterdir()) == [
        "A001.mov",
        "A002.mov",
        "A003.mov",
        "A004.mov",
        "B001.mov",
        "B002.mov",
        "B003.mov",
    ]
    # The demo card a DIT offloads from the browser holds movies too.
    card = sorted((tmp_path / "cards" / "A004").iterdir())
    assert len(card) == 6 and all(path.read_bytes()[4:8] == b"ftyp" for path in card)

    # A restart makes no movie and asks for no extraction again.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "demo-media").iterdir()}
    again = seed()
    assert "queued for probing" not in again and "probed" not in again
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "demo-media").iterdir()} == before
    assert MetadataExtraction.objects.filter(clip__project__code="DEMO").count() == 12


def test_without_ffmpeg_the_demo_says_so_and_queues_no_extraction(
    db: None, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    monkeypatch.setattr(demo_media, "ffmpeg_available", lambda: False)
    demo_media.roll_media.cache_clear()
    out = seed()
    assert "ffmpeg not found: the demo clips are stand-in bytes" in out
    assert not MetadataExtraction.objects.exists() and not ReviewItem.objects.exists()
    assert MediaFile.objects.filter(clip__project__code="DEMO").count() == 12
