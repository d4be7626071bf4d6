"""Clip.min_verified_copies, kept by database triggers: every write path, and two writers at once.

The column drives ``copies_lt`` ("fewer than N verified copies"): the fewest
verified copies on distinct volumes (camera cards excluded) of any file of the
clip, 0 for a clip with no files.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Clip, Copy, MediaFile, Volume
from metadata.review import clip_metadata_bulk_edit
from tests.catalog.search_world import add_file
from tests.fixtures import ClipFactory, ProjectFactory, VolumeFactory

VERIFIED, PENDING, CORRUPT = Copy.State.VERIFIED, Copy.State.PENDING, Copy.State.CORRUPT


def count(clip: Clip) -> int:
    clip.refresh_from_db(fields=["min_verified_copies"])
    return clip.min_verified_copies


@pytest.fixture
def volumes(db: None) -> dict[str, Volume]:
    project = ProjectFactory(code="CNT")
    return {
        "raid": VolumeFactory(project=project, label="RAID"),
        "shuttle": VolumeFactory(project=project, label="SHUTTLE", kind=Volume.Kind.SHUTTLE),
        "lto": VolumeFactory(project=project, label="LTO", kind=Volume.Kind.LTO),
        "card": VolumeFactory(project=project, label="CARD", kind=Volume.Kind.CARD),
    }


def test_a_clip_without_files_has_none(volumes: dict[str, Volume]) -> None:
    clip = ClipFactory(project=volumes["raid"].project)
    assert count(clip) == 0


def test_copies_count_when_verified_on_distinct_volumes_other_than_cards(volumes: dict[str, Volume]) -> None:
    v = volumes
    clip = ClipFactory(project=v["raid"].project)
    media_file = add_file(
        clip, "A/1.mxf", [(v["raid"], VERIFIED), (v["card"], VERIFIED), (v["shuttle"], PENDING)]
    )
    assert count(clip) == 1
    copy = Copy.objects.get(media_file=media_file, volume=v["shuttle"])
    copy.state, copy.hash_found, copy.verified_at = VERIFIED, media_file.xxh128, v["raid"].created_at
    copy.save()
    assert count(clip) == 2
    Copy.objects.filter(pk=copy.pk).update(state=CORRUPT, verified_at=None, hash_found="")
    assert count(clip) == 1
    Copy.objects.filter(media_file=media_file, volume=v["raid"]).delete()
    assert count(clip) == 0


def test_the_file_with_fewest_copies_decides(volumes: dict[str, Volume]) -> None:
    v = volumes
    clip = ClipFactory(project=v["raid"].project)
    add_file(clip, "A/1.mxf", [(v["raid"], VERIFIED), (v["shuttle"], VERIFIED), (v["lto"], VERIFIED)])
    assert count(clip) == 3
    second = add_file(clip, "A/1.wav", [])  # a new file with no copy yet makes the clip short
    assert count(clip) == 0
    Copy.objects.bulk_create(
        Copy(media_file=second, volume=volume, path="A/1.wav", state=PENDING)
        for volume in (v["raid"], v["shuttle"])
    )
    assert count(clip) == 0
    Copy.objects.filter(media_file=second).update(
        state=VERIFIED, hash_found="x", verified_at=v["raid"].created_at
    )
    assert count(clip) == 2


def test_moving_or_deleting_a_file_recounts_both_clips(volumes: dict[str, Volume]) -> None:
    v = volumes
    first, second = ClipFactory(project=v["raid"].project), ClipFactory(project=v["raid"].project)
    media_file = add_file(first, "A/1.mxf", [(v["raid"], VERIFIED), (v["shuttle"], VERIFIED)])
    assert (count(first), count(second)) == (2, 0)
    MediaFile.objects.filter(pk=media_file.pk).update(clip=second)
    assert (count(first), count(second)) == (0, 2)
    Copy.objects.filter(media_file=media_file).delete()
    MediaFile.objects.filter(pk=media_file.pk).delete()
    assert count(second) == 0


def test_a_volume_turning_into_a_card_stops_counting(volumes: dict[str, Volume]) -> None:
    v = volumes
    clip = ClipFactory(project=v["raid"].project)
    add_file(clip, "A/1.mxf", [(v["raid"], VERIFIED), (v["shuttle"], VERIFIED)])
    assert count(clip) == 2
    Volume.objects.filter(pk=v["shuttle"].pk).update(kind=Volume.Kind.CARD)
    assert count(clip) == 1
    Volume.objects.filter(pk=v["shuttle"].pk).update(kind=Volume.Kind.SHUTTLE)
    assert count(clip) == 2


def test_one_statement_updating_many_clips_recounts_each(volumes: dict[str, Volume]) -> None:
    v = volumes
    clips = [ClipFactory(project=v["raid"].project) for _ in range(5)]
    for index, clip in enumerate(clips):
        add_file(clip, f"A/{index}.mxf", [(v["raid"], VERIFIED), (v["shuttle"], VERIFIED)])
    assert [count(c) for c in clips] == [2] * 5
    Copy.objects.filter(volume=v["shuttle"]).update(state=CORRUPT)
    assert [count(c) for c in clips] == [1] * 5


@pytest.mark.django_db(transaction=True)
def test_two_transactions_verifying_copies_of_one_clip_at_once_both_count() -> None:
    """An offload verifies two destinations in parallel: the count must end at 2, not 1.

    Without the clip lock in catalog_clip_copies_refresh, B's recount would run on a
    snapshot without A's uncommitted copy and overwrite A's result with 1.
    """
    project = ProjectFactory(code="RACE")
    raid = VolumeFactory(project=project, label="RAID")
    shuttle = VolumeFactory(project=project, label="SHUTTLE", kind=Volume.Kind.SHUTTLE)
    clip = ClipFactory(project=project)
    media_file = add_file(clip, "A/1.mxf", [(raid, PENDING), (shuttle, PENDING)])
    a_updated, b_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def verify(volume: Volume, before_commit: threading.Event | None, after: threading.Event | None) -> None:
        try:
            if after is not None:
                after.wait(10)
                b_started.set()
            with transaction.atomic():
                Copy.objects.filter(media_file=media_file, volume=volume).update(
                    state=VERIFIED, hash_found=media_file.xxh128, verified_at=raid.created_at
                )
                if before_commit is not None:
                    before_commit.set()
                    b_started.wait(10)
                    time.sleep(0.5)  # B is now blocked on the clip lock (or, without it, counting)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=verify, args=(raid, a_updated, None)),
        threading.Thread(target=verify, args=(shuttle, None, a_updated)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert count(clip) == 2


def test_saving_a_stale_clip_or_editing_it_keeps_the_count_the_triggers_keep(
    volumes: dict[str, Volume],
) -> None:
    v = volumes
    clip = ClipFactory(project=v["raid"].project)
    media_file = add_file(clip, "A/1.mxf", [(v["raid"], VERIFIED)])
    stale = Clip.objects.get(pk=clip.pk)
    assert stale.min_verified_copies == 1
    for volume in (v["shuttle"], v["lto"]):
        copies_record(
            actor=None,
            volume=volume,
            checks=[CopyCheck(media_file, "A/1.mxf", Found.PROVEN, hash_found=media_file.xxh128)],
            source="a test check",
        )
    assert count(clip) == 3
    stale.notes = "stale object saved"
    stale.save()
    assert count(clip) == 3
    # The edit page and API edit through this service, handed the stale clip's id.
    clip_metadata_bulk_edit(
        actor=None, project=stale.project, clip_ids=[stale.pk], changes={"scene": "12", "notes": "edited"}
    )
    assert count(clip) == 3
    assert Clip.objects.get(pk=clip.pk).scene == "12"
