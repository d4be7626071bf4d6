"""The catalog work of `manage.py offload` does not grow with the card (issue 19).

A card of 30 clips costs the catalog the same number of SQL queries as a card
of 6: its files, clips, copies and audit entries are written a batch at a
time, and the clips' metadata extraction is queued with a fixed number of
queries too. Counted, never timed.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.audit import audit_chain_verify
from catalog.models import AuditEvent, Clip, Copy, MediaFile, Volume
from metadata.extraction import clip_metadata_enqueue_card
from metadata.models import MetadataExtraction
from tests.fixtures import World
from tests.ingest.conftest import write_card

# The catalog's own tables, and the advisory lock of the audit chain. The job's progress row and
# the DIT's cancel/pause flags are read and written by the clock (once a second), not per file.
CATALOG = re.compile(r'"catalog_(mediafile|clip|copy|auditevent)"|pg_advisory_xact_lock')


def card_of(root: Path, name: str, clips: int) -> Path:
    files: dict[str, bytes] = {}
    for index in range(1, clips + 1):
        clip = f"{name}C{index:03d}_261102_R1AB"
        files[f"{clip}.mov"] = os.urandom(2_000)
        files[f"{clip}.xml"] = b"<xml>sidecar</xml>"
    return write_card(root / name, files)


def offload_queries(card: Path, tmp_path: Path) -> list[str]:
    dests = [str(tmp_path / "raid"), str(tmp_path / "shuttle")]
    with CaptureQueriesContext(connection) as captured:
        call_command(
            "offload", "--project", "FILM", "--source", str(card), "--dest", dests[0], "--dest", dests[1],
            "--json", stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    return [q["sql"] for q in captured.captured_queries if CATALOG.search(q["sql"])]


def test_catalog_queries_of_the_offload_command_do_not_grow_with_the_card(
    world: World, tmp_path: Path
) -> None:
    offload_queries(card_of(tmp_path / "cards", "A009", clips=1), tmp_path)  # registers the destinations
    small = offload_queries(card_of(tmp_path / "cards", "A001", clips=3), tmp_path)
    large = offload_queries(card_of(tmp_path / "cards", "A002", clips=30), tmp_path)

    # Everything was cataloged: 60 files, 30 clips, two proven copies each, one audit entry per clip.
    files = MediaFile.objects.filter(card__label="A002")
    assert files.count() == 60
    assert Clip.objects.filter(name__startswith="A002C").count() == 30
    assert Copy.objects.filter(media_file__in=files, state=Copy.State.VERIFIED).count() == 120
    assert AuditEvent.objects.filter(action="offload.files", object_type="catalog.clip").count() == 34
    assert audit_chain_verify().breaks == []
    # ... with as many catalog queries for 60 files as for 6 (one per file would be 54 more).
    assert small, "the capture is real: the small card's catalog queries are there"
    assert len(large) == len(small), "\n".join(large)


def test_an_offload_again_of_the_same_card_keeps_its_files_and_adds_no_query(
    world: World, tmp_path: Path
) -> None:
    card = card_of(tmp_path / "cards", "A003", clips=4)
    first = offload_queries(card, tmp_path)
    ids = sorted(MediaFile.objects.filter(card__label="A003").values_list("pk", flat=True))

    again = offload_queries(card, tmp_path)

    assert sorted(MediaFile.objects.filter(card__label="A003").values_list("pk", flat=True)) == ids
    assert len(again) <= len(first)
    # The files found in the catalog still get their entries on their clips.
    assert AuditEvent.objects.filter(action="offload.files", object_type="catalog.clip").count() == 8


@pytest.mark.parametrize("clips", [2, 12])
def test_queuing_the_metadata_of_a_card_takes_the_same_queries_for_any_number_of_clips(
    world: World, tmp_path: Path, clips: int, django_capture_on_commit_callbacks: object
) -> None:
    card = card_of(tmp_path / "cards", "A004", clips=clips)
    offload_queries(card, tmp_path)
    card_volume = Volume.objects.get(label="A004", kind=Volume.Kind.CARD)

    with CaptureQueriesContext(connection) as captured:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
            sent = clip_metadata_enqueue_card(card_id=card_volume.pk)

    assert sum(sent.values()) == clips
    assert len(callbacks) == clips  # one task a clip, sent after the commit (not here)
    assert MetadataExtraction.objects.filter(state=MetadataExtraction.State.QUEUED).count() == clips
    # Clip ids, their files, copies and volumes, the upsert of the jobs: not per clip.
    assert len(captured.captured_queries) <= 6, [q["sql"] for q in captured.captured_queries]


def test_the_command_walks_the_card_once_to_create_the_job_and_once_to_run_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A card of image sequences holds 100,000 files: each walk of it is seconds on a card reader.
    from copyengine import offload as engine
    from ingest import services

    walked: list[Path] = []
    real_scan = engine.scan_card

    def counting_scan(source: Path) -> engine.CardScan:
        walked.append(Path(source))
        return real_scan(source)

    monkeypatch.setattr(engine, "scan_card", counting_scan)
    monkeypatch.setattr(services, "scan_card", counting_scan)
    card = card_of(tmp_path / "cards", "A004", clips=3)

    offload_queries(card, tmp_path)

    assert walked == [card, card]  # job creation (camera, day), then the run (clip groups and the copy)
    assert Copy.objects.filter(media_file__card__label="A004", state=Copy.State.VERIFIED).count() == 12
