"""The storage policy "N copies on M media with K off-site", counted in SQL, checked against a plain count."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Copy, MediaFile
from catalog.policy import policy_by_day, policy_by_project, short_clips
from tests.dashboard.conftest import FULL, Site, build_site
from tests.fixtures import World


@pytest.mark.parametrize(
    ("copies", "meets", "reason"),
    [
        (FULL, True, ""),
        # Two kinds of media suffice: RAID-A and RAID-B are one kind, LTO-1 another and off-site.
        ({"RAID-A": "verified", "RAID-B": "verified", "LTO-1": "verified"}, True, ""),
        ({"RAID-A": "verified", "NAS-1": "verified"}, False, "2 of 3 verified copies"),
        # Three copies, one off-site, but all on one kind of media.
        ({"RAID-A": "verified", "RAID-B": "verified", "RAID-C": "verified"}, False, "1 of 2 kinds of media"),
        # A copy on the camera card never counts.
        ({"RAID-A": "verified", "NAS-1": "verified", "A009": "verified"}, False, "2 of 3 verified copies"),
        # Nor is a camera card a kind of media.
        (
            {"RAID-A": "verified", "RAID-B": "verified", "RAID-C": "verified", "A009": "verified"},
            False,
            "1 of 2 kinds of media",
        ),
        # Only verified copies count.
        ({"RAID-A": "verified", "NAS-1": "verified", "LTO-1": "corrupt"}, False, "2 of 3 verified copies"),
        ({"RAID-A": "verified", "NAS-1": "verified", "LTO-1": "copying"}, False, "2 of 3 verified copies"),
        # No off-site copy.
        ({"RAID-A": "verified", "NAS-1": "verified", "SHUTTLE-1": "verified"}, False, "0 of 1 off-site"),
        # One file of two short: the clip is short.
        ([FULL, {"RAID-A": "verified", "NAS-1": "verified", "RAID-B": "verified"}], False, "0 of 1 off-site"),
        ([], False, "no file in the catalog"),
    ],
)
def test_a_clip_meets_the_policy_only_when_every_file_does(
    world: World, copies: dict[str, str] | list[dict[str, str]], meets: bool, reason: str
) -> None:
    site = build_site(world, days=1)
    clip = site.clip("Z009C001", day=1, card="A009", copies=copies)
    day = site.days[1].pk
    policy = policy_by_day(day_ids=[day])[day]
    assert (policy.clips, policy.meeting, policy.short) == (4, 4 if meets else 3, 0 if meets else 1)
    short = short_clips(day_ids=[day])
    if meets:
        assert short == []
    else:
        (only,) = short
        assert only.name == clip.name and only.reasons == [reason]


def test_the_counts_agree_with_a_plain_count_on_random_data(world: World) -> None:
    site = build_site(world, days=2)
    rng = random.Random(7)
    labels = ["RAID-A", "NAS-1", "RAID-B", "RAID-C", "LTO-1", "SHUTTLE-1", "A001"]
    states = ["verified"] * 12 + ["corrupt", "missing", "failed", "copying"]
    for n in range(60):
        files = [
            {label: rng.choice(states) for label in rng.sample(labels, rng.randint(1, 6))}
            for _ in range(rng.randint(0 if n % 10 == 0 else 1, 3))
        ]
        site.clip(f"R{n:03d}C001", day=1 + n % 2, card="A001", copies=files)
    project = site.project
    expected: dict[int, tuple[int, int]] = {}
    for day in site.days.values():
        short = 0
        clips = list(day.clips.all())
        for clip in clips:
            ok = clip.files.exists()
            for media_file in MediaFile.objects.filter(clip=clip):
                good = [
                    c.volume
                    for c in Copy.objects.filter(media_file=media_file, state="verified").select_related(
                        "volume"
                    )
                    if c.volume.kind != "card"
                ]
                ok &= (
                    len({v.pk for v in good}) >= project.required_copies
                    and len({v.kind for v in good}) >= project.required_media_kinds
                    and len({v.pk for v in good if v.offsite}) >= project.required_offsite
                )
            short += not ok
        expected[day.pk] = (len(clips), short)
    got = policy_by_day(day_ids=list(expected))
    assert {day_id: (p.clips, p.short) for day_id, p in got.items()} == expected
    # The data exercises both outcomes.
    assert 5 < sum(short for _, short in expected.values()) < sum(clips for clips, _ in expected.values()) - 5
    by_project = policy_by_project(project_ids=[project.pk])[project.pk]
    # The project's count also has the world's clip, which has no day and no file.
    assert by_project.short_clips == sum(short for _, short in expected.values()) + 1
    assert by_project.short_days == sum(1 for _, short in expected.values() if short)


def test_policy_of_many_days_is_one_query(site: Site) -> None:
    ids = [day.pk for day in site.days.values()]
    with CaptureQueriesContext(connection) as one:
        policy_by_day(day_ids=ids[:1])
    with CaptureQueriesContext(connection) as many:
        policy_by_day(day_ids=ids)
    assert len(one) == len(many) == 1
