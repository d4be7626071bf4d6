"""Technical metadata with ffprobe, and poster-frame thumbnails with ffmpeg.

Both tools come from Debian's ``ffmpeg`` package. When they are missing,
ProbeToolMissing says so and how to install them; ingest still catalogs the
clip and puts the problem in the review queue.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

PROBE_TIMEOUT = 60


class ProbeError(Exception):
    """ffprobe/ffmpeg could not read the file; the message names it."""


class ProbeToolMissing(ProbeError):
    """ffprobe or ffmpeg is not installed."""


@dataclass(frozen=True)
class TechnicalMetadata:
    container: str = ""
    codec: str = ""
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    duration_frames: int | None = None
    duration_seconds: float | None = None
    start_tc: str = ""
    reel: str = ""
    camera_make: str = ""
    camera_model: str = ""
    audio_channels: int = 0
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else ""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ProbeToolMissing(
            f"{name} is not installed: install Debian's ffmpeg package (apt-get install ffmpeg) "
            "to extract technical metadata and thumbnails"
        )
    return path


def _rate(value: str | None) -> Fraction | None:
    if not value or value in ("0/0", "0"):
        return None
    try:
        rate = Fraction(value)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _created(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def probe(path: str | os.PathLike[str]) -> TechnicalMetadata:
    """Run ffprobe on one media file and return what it reports.

    Raises ProbeToolMissing when ffprobe is absent and ProbeError (naming the
    file and ffprobe's own message) when the file is not media it can read.
    """
    path = Path(path)
    try:
        result = subprocess.run(
            [
                _tool("ffprobe"),
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"ffprobe took more than {PROBE_TIMEOUT} s on {path}") from exc
    if result.returncode != 0:
        reason = (
            result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        )
        raise ProbeError(f"ffprobe cannot read {path}: {reason}")
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise ProbeError(f"ffprobe gave unreadable output for {path}") from exc
    return _parse(data)


def _parse(data: dict[str, Any]) -> TechnicalMetadata:
    streams: list[dict[str, Any]] = data.get("streams", [])
    fmt: dict[str, Any] = data.get("format", {})
    format_tags = {k.lower(): v for k, v in fmt.get("tags", {}).items()}
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_picture(s)), None)
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    tags_everywhere = [format_tags] + [{k.lower(): v for k, v in s.get("tags", {}).items()} for s in streams]

    def first_tag(*names: str) -> str:
        for tags in tags_everywhere:
            for name in names:
                if tags.get(name):
                    return str(tags[name])
        return ""

    fps = _rate(video.get("r_frame_rate")) if video else None
    duration = _float(fmt.get("duration")) or (_float(video.get("duration")) if video else None)
    frames = None
    if video and str(video.get("nb_frames", "")).isdigit():
        frames = int(video["nb_frames"])
    elif duration is not None and fps is not None:
        frames = round(duration * fps)
    return TechnicalMetadata(
        container=str(fmt.get("format_name", "")).split(",")[0],
        codec=_codec_label(video) if video else "",
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=fps,
        duration_frames=frames,
        duration_seconds=duration,
        start_tc=first_tag("timecode"),
        reel=first_tag("reel_name", "reel", "tape", "tape_name"),
        camera_make=first_tag("make", "com.apple.quicktime.make", "manufacturer"),
        camera_model=first_tag("model", "com.apple.quicktime.model"),
        audio_channels=sum(int(s.get("channels", 0) or 0) for s in audio),
        created_at=_created(first_tag("creation_time")),
        extra={"format_tags": format_tags, "bit_rate": fmt.get("bit_rate")},
    )


def _is_picture(stream: dict[str, Any]) -> bool:
    return bool(stream.get("disposition", {}).get("attached_pic"))


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _codec_label(video: dict[str, Any]) -> str:
    name = str(video.get("codec_name", ""))
    profile = video.get("profile")
    labels = {"prores": "ProRes", "h264": "H.264", "hevc": "HEVC", "dnxhd": "DNxHD", "mjpeg": "MJPEG"}
    label = labels.get(name, name)
    return f"{label} {profile}" if profile and profile != "unknown" else label


def make_thumbnail(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    width: int = 320,
    at_seconds: float = 1.0,
) -> Path:
    """Write a JPEG poster frame of ``source`` to ``target`` (temp name, then rename); return ``target``.

    Takes the frame ``at_seconds`` in (or the first frame of a shorter clip).
    Raises ProbeToolMissing or ProbeError.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial.jpg")
    for seek in (at_seconds, 0.0):
        result = subprocess.run(
            [
                _tool("ffmpeg"),
                "-v",
                "error",
                "-y",
                "-ss",
                f"{seek:.3f}",
                "-i",
                str(source),
                "-frames:v",
                "1",
                "-vf",
                f"scale={width}:-2",
                "-q:v",
                "4",
                str(temp),
            ],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
        if result.returncode == 0 and temp.exists() and temp.stat().st_size > 0:
            temp.replace(target)
            return target
    temp.unlink(missing_ok=True)
    reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no frame decoded"
    raise ProbeError(f"no thumbnail for {source}: {reason}")
