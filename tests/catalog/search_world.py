"""A small catalog with varied clip metadata, files and copies, for the search tests.

FILM (the ``world`` project) gets five named clips over two shoot days plus the
world's own clip (renamed, so names never depend on factory sequences); OTHER
gets look-alikes that must never show up for FILM's members.

Verified copies per clip (fewest of any of its files; camera cards do not count):

======================  ==========================================================  =====
clip                    files and copies                                            count
======================  ==========================================================  =====
A001C001_261102_Q1AB    RAID verified, SHUTTLE verified, LTO verified                 3
A001C002_261102_Q1AB    RAID verified, SHUTTLE corrupt                                1
A001C003_261102_Q1AB    file 1: RAID + SHUTTLE verified; file 2: RAID + card verified  1
B002C003_261103_Q7XY    RAID verified, SHUTTLE verified                               2
B002C010_261103_Q7XY    no files                                                      0
Z009C999_261101_WXYZ    no files (the world's clip)                                   0
======================  ==========================================================  =====
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from catalog.models import Clip, Copy, MediaFile, Volume
from tests.fixtures import ClipFactory, ShootDayFactory, VolumeFactory, World

C001 = "A001C001_261102_Q1AB"
C002 = "A001C002_261102_Q1AB"
C003 = "A001C003_261102_Q1AB"
B003 = "B002C003_261103_Q7XY"
B010 = "B002C010_261103_Q7XY"
WORLD_CLIP = "Z009C999_261101_WXYZ"
FILM_CLIPS = {C001, C002, C003, B003, B010, WORLD_CLIP}
OTHER_LOOKALIKE = "A001C001_261102_Q1AB"  # same name, other project


@dataclass
class SearchWorld:
    world: World
    clips: dict[str, Clip]
    raid: Volume
    shuttle: Volume
    lto: Volume
    card: Volume

    def clip(self, name: str) -> Clip:
        return self.clips[name]


def add_file(clip: Clip, path: str, copies: Sequence[tuple[Volume, str]]) -> MediaFile:
    media_file = MediaFile.objects.create(
        clip=clip, relative_path=path, size=1_000_000, xxh128=f"{abs(hash(path)) % (1 << 64):032x}"
    )
    proven = datetime(2026, 11, 3, 7, 30, tzinfo=UTC)
    for volume, state in copies:
        good = state == Copy.State.VERIFIED
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=path,
            state=state,
            hash_found=media_file.xxh128 if good else "",
            verified_at=proven if good else None,
        )
    return media_file


def build_search_world(world: World) -> SearchWorld:
    film = world.project
    day1 = ShootDayFactory(project=film, number=1, date=date(2026, 11, 2))
    day2 = ShootDayFactory(project=film, number=2, date=date(2026, 11, 3))
    raid = world.volume
    shuttle = VolumeFactory(project=film, label="SHUTTLE-1", kind=Volume.Kind.SHUTTLE, tier=Volume.Tier.WARM)
    lto = VolumeFactory(project=film, label="LTO-001", kind=Volume.Kind.LTO, tier=Volume.Tier.COLD)
    card = VolumeFactory(project=film, label="A001-CARD", kind=Volume.Kind.CARD)
    common: dict[str, Any] = {"project": film, "codec": "ARRIRAW", "resolution": "4608x3164", "fps": "24.000"}
    specs: list[dict[str, Any]] = [
        {
            "name": C001,
            "day": day1,
            "camera": "A",
            "reel": "A001",
            "scene": "42",
            "take": "1",
            "circled": False,
            "cast": ["Ava Stone", "Ben Okafor"],
            "location": "Harbour",
            "lens": "Signature Prime 35mm",
            "start_tc": "10:00:00:00",
            "duration_frames": 240,
            "notes": "Boom in frame at end",
        },
        {
            "name": C002,
            "day": day1,
            "camera": "A",
            "reel": "A001",
            "scene": "42",
            "take": "2",
            "circled": True,
            "cast": ["Ava Stone"],
            "location": "Harbour",
            "lens": "Signature Prime 50mm",
            "start_tc": "10:05:00:00",
            "duration_frames": 480,
        },
        {
            "name": C003,
            "day": day1,
            "camera": "A",
            "reel": "A001",
            "scene": "42A",
            "take": "1",
            "circled": True,
            "cast": ["Chloé Martin"],
            "location": "Rooftop",
            "lens": "Signature Prime 35mm",
            "start_tc": "11:00:00:00",
        },
        {
            "name": B003,
            "day": day2,
            "camera": "B",
            "reel": "B002",
            "scene": "7",
            "take": "3",
            "circled": False,
            "cast": ["Ben Okafor"],
            "location": "Diner",
            "lens": "Optimo 24-290",
            "start_tc": "09:00:00:00",
            "codec": "ProRes 4444 XQ",
        },
        {
            "name": B010,
            "day": day2,
            "camera": "B",
            "reel": "B002",
            "scene": "7",
            "take": "4",
            "circled": True,
            "cast": [],
            "location": "Forest road",
            "lens": "Optimo 24-290",
            "start_tc": "14:00:00:00",
            "codec": "ProRes 4444 XQ",
        },
    ]
    clips = {spec["name"]: ClipFactory(**{**common, **spec}) for spec in specs}
    Clip.objects.filter(pk=world.clip.pk).update(name=WORLD_CLIP, start_tc="08:00:00:00")
    Clip.objects.filter(pk=world.other_clip.pk).update(name="Z009C999_261101_OTHR")
    world.clip.refresh_from_db()
    clips[WORLD_CLIP] = world.clip
    # A look-alike in OTHER with the same name and metadata as C001.
    ClipFactory(**{**common, **specs[0], "project": world.other_project, "day": None})

    ok, bad = Copy.State.VERIFIED, Copy.State.CORRUPT
    add_file(clips[C001], "A001/C001.mxf", [(raid, ok), (shuttle, ok), (lto, ok)])
    add_file(clips[C002], "A001/C002.mxf", [(raid, ok), (shuttle, bad)])
    add_file(clips[C003], "A001/C003.mxf", [(raid, ok), (shuttle, ok)])
    add_file(clips[C003], "A001/C003.wav", [(raid, ok), (card, ok)])
    add_file(clips[B003], "B002/B003.mxf", [(raid, ok), (shuttle, ok)])
    # Known modification times: only C001 was edited recently.
    Clip.objects.filter(project=film).update(modified_at=datetime(2026, 1, 1, tzinfo=UTC))
    Clip.objects.filter(name=C001, project=film).update(modified_at=datetime(2026, 6, 1, tzinfo=UTC))
    for clip in clips.values():
        clip.refresh_from_db()
    return SearchWorld(world=world, clips=clips, raid=raid, shuttle=shuttle, lto=lto, card=card)
