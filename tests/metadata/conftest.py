"""Helpers for the metadata tests: real clips made with ffmpeg, cards cataloged as offload leaves them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import xxhash
from django.conf import settings
from django.utils import timezone

from catalog.models import Clip, Copy, MediaFile, Project, Volume
from formats.naming import group_clip_files, recognize_camera_name

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="Debian's ffmpeg is not installed",
)


def make_clip(
    path: Path,
    *,
    tc: str = "10:00:00:00",
    reel: str = "A001",
    rate: str = "25",
    seconds: float = 1,
    make: str = "ARRI",
    model: str = "ALEXA Mini LF",
) -> Path:
    """A real ProRes .mov with timecode, reel name, camera make/model and two audio channels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", f"testsrc=size=320x180:rate={rate}",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", str(seconds),
            "-c:v", "prores_ks", "-profile:v", "3", "-c:a", "pcm_s24le", "-ac", "2",
            "-timecode", tc,
            "-metadata:s:v:0", f"reel_name={reel}",
            "-metadata", f"make={make}", "-metadata", f"model={model}",
            "-metadata", "creation_time=2026-11-02T10:00:00Z",
            "-y", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


SONY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.20"
 lastUpdate="2026-11-02T10:00:00Z">
  <Duration value="{frames}"/>
  <LtcChangeTable tcFps="25" halfStep="false">
    <LtcChange frameCount="0" value="{ltc_start}" status="increment"/>
    <LtcChange frameCount="{last}" value="{ltc_end}" status="end"/>
  </LtcChangeTable>
  <CreationDate value="2026-11-02T10:00:00+01:00"/>
  <VideoFormat>
    <VideoFrame videoCodec="XAVC_S_422_10bit" captureFps="25p" formatFps="25p"/>
    <VideoLayout pixel="3840" numOfVerticalLine="2160" aspectRatio="16:9"/>
  </VideoFormat>
  <Device manufacturer="Sony" modelName="ILME-FX6" serialNo="1234567"/>
  <Lens modelName="FE 24-70mm F2.8 GM"/>
</NonRealTimeMeta>
"""


def bcd(tc: str) -> str:
    """Sony's LtcChange value: frames, seconds, minutes, hours as BCD bytes (ffssmmhh)."""
    hh, mm, ss, ff = tc.split(":")
    return f"{ff}{ss}{mm}{hh}"


def sony_xml(*, start: str = "10:00:00:00", end: str = "10:00:00:24", frames: int = 25) -> bytes:
    return SONY_XML.format(frames=frames, last=frames - 1, ltc_start=bcd(start), ltc_end=bcd(end)).encode()


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<NonRealTimeMeta>&lol4;</NonRealTimeMeta>
"""


@dataclass
class CatalogedCard:
    volume: Volume
    card: Volume
    root: Path
    clips: dict[str, Clip] = field(default_factory=dict)


def catalog_card(
    project: Project,
    raid_root: Path,
    label: str,
    files: Mapping[str, bytes | Path],
    *,
    raid_label: str = "RAID-META",
    host: str | None = None,
) -> CatalogedCard:
    """Put files on a RAID folder and catalog them as an offload does: clips, files, verified copies."""
    volume = Volume.objects.filter(project=project, label=raid_label).first() or Volume.objects.create(
        project=project,
        label=raid_label,
        kind=Volume.Kind.RAID,
        location=str(raid_root),
        host=settings.REELVAULT_HOSTNAME if host is None else host,
    )
    card = Volume.objects.create(
        project=project, label=label, kind=Volume.Kind.CARD, location=f"/cards/{label}", host="cart"
    )
    root = raid_root / label
    result = CatalogedCard(volume, card, root)
    for relpath, content in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
    groups = group_clip_files(files)
    clip_of = {path: key for key, paths in groups.items() for path in paths}
    for relpath in files:
        key = clip_of.get(relpath)
        clip = None
        if key:
            clip = result.clips.get(key) or Clip.objects.filter(project=project, name=key).first()
            if clip is None:
                parsed = recognize_camera_name(key)
                clip = Clip.objects.create(
                    project=project,
                    name=key,
                    card=card,
                    camera=(parsed.camera or "") if parsed else "",
                    reel=f"{parsed.camera or ''}{parsed.roll:03d}"
                    if parsed and parsed.roll is not None
                    else "",
                )
            result.clips[key] = clip
        data = (root / relpath).read_bytes()
        digest = xxhash.xxh3_128_hexdigest(data)
        media_file = MediaFile.objects.create(
            clip=clip, card=card, relative_path=relpath, size=len(data), xxh128=digest
        )
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=f"{label}/{relpath}",
            state=Copy.State.VERIFIED,
            hash_found=digest,
            verified_at=timezone.now(),
        )
    return result


@pytest.fixture
def media_root(tmp_path_factory: pytest.TempPathFactory, settings: object) -> Iterator[Path]:
    """A private MEDIA_ROOT, also for worker processes started after it (they read the environment)."""
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root  # type: ignore[attr-defined]
    previous = os.environ.get("REELVAULT_MEDIA_ROOT")
    os.environ["REELVAULT_MEDIA_ROOT"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("REELVAULT_MEDIA_ROOT", None)
    else:
        os.environ["REELVAULT_MEDIA_ROOT"] = previous
