"""The demo's media: tiny camera-like QuickTime files made with ffmpeg, so thumbnails, ffprobe
metadata and poster frames work on the demo (``make run``) as they do on real footage.

Making one file per clip would take minutes, so ffmpeg makes one short clip per camera roll
(1 s, 320x180, H.264 with AAC sound, the roll's start timecode, reel name and camera make and
model in its metadata) and caches it under ``var/demo-media/``; each clip's file is its roll's
file followed by a QuickTime ``free`` atom naming the clip, which players and ffprobe skip, so
every clip still has bytes (and a hash) of its own. Later runs reuse the cache: seeding is
fast and gives the same bytes every time.

Without ffmpeg the demo falls back to stand-in bytes derived from the clip name (no thumbnails,
no technical metadata), says so once, and extraction is not asked for (it would only fill the
review queue with "unreadable media").
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

#: Size of the stand-in bytes when ffmpeg is absent (the demo's original stand-ins).
STANDIN_BYTES = 64 * 1024
#: Per camera letter: the make and model written in the metadata, the test pattern's hue shift.
CAMERAS = {"A": ("ARRI", "ALEXA 35", 0), "B": ("ARRI", "ALEXA Mini LF", 140)}
ROLL = re.compile(r"^([A-Z])(\d{3})")


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "demo-media"


def roll_of(clip_name: str) -> str:
    """The camera roll a demo clip name starts with (``A002C014_…`` -> ``A002``); ``X001`` otherwise."""
    match = ROLL.match(clip_name)
    return f"{match.group(1)}{match.group(2)}" if match else "X001"


def _start_tc(roll: str) -> str:
    # Each roll starts at its own hour, as cameras that run free-run timecode would.
    return f"{8 + int(roll[1:]) % 12:02d}:00:00:00"


def _make_roll_file(roll: str, target: Path) -> None:
    """ffmpeg the roll's clip into ``target`` (temporary name, then rename: never half a file)."""
    make, model, hue = CAMERAS.get(roll[0], ("Reelvault", "Demo camera", 60))
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial.mov")
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=24:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1:sample_rate=48000",
        "-vf",
        f"hue=h={hue}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "32",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "24",
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        "-ac",
        "1",
        "-timecode",
        _start_tc(roll),
        "-movflags",
        "use_metadata_tags",
        "-metadata",
        f"reel_name={roll}",
        "-metadata",
        f"com.apple.quicktime.make={make}",
        "-metadata",
        f"com.apple.quicktime.model={model}",
        str(partial),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


@lru_cache(maxsize=64)
def roll_media(roll: str, cache: Path) -> bytes | None:
    """The roll's ffmpeg-made file (made once, then read from the cache); None without ffmpeg."""
    target = cache / f"{roll}.mov"
    if not target.is_file():
        if not ffmpeg_available():
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _make_roll_file(roll, target)
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("ffmpeg could not make the demo clip of roll %s: %s", roll, exc)
            return None
    return target.read_bytes()


def free_atom(text: str) -> bytes:
    """A QuickTime/MP4 ``free`` atom holding ``text``: skipped by every reader."""
    payload = text.encode()
    return (8 + len(payload)).to_bytes(4, "big") + b"free" + payload


def clip_media(clip_name: str) -> bytes:
    """The bytes of a demo clip's file: its roll's movie plus a ``free`` atom naming it (or stand-ins)."""
    base = roll_media(roll_of(clip_name), cache_dir())
    if base is None:
        return hashlib.shake_256(clip_name.encode()).digest(STANDIN_BYTES)
    return base + free_atom(f"reelvault demo clip {clip_name}")


def is_real_media() -> bool:
    """Whether the demo's clips are playable movies here (ffmpeg present or the cache already made)."""
    return roll_media("A001", cache_dir()) is not None
