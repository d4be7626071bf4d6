"""The engine's pause hook (copyengine/offload.py): stop between batches, resume without copying again."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from copyengine.backends import LocalDestination
from copyengine.offload import CopyStatus, FileOutcome, ProgressSnapshot, offload_card
from tests.ingest.conftest import partial_files, write_card


def test_a_paused_run_stops_between_batches_and_the_next_run_only_hashes_what_is_there(
    tmp_path: Path,
) -> None:
    card = write_card(tmp_path / "card", {f"clip{i}.mov": os.urandom(1_100_000 + i) for i in range(6)})
    dests = [LocalDestination(tmp_path / name, name=name) for name in ("a", "b")]
    for d in dests:
        d.root.mkdir()
    pause = threading.Event()
    bars: list[tuple[str, int, int]] = []

    def on_file(outcome: FileOutcome) -> None:
        pause.set()  # as soon as one file is verified everywhere

    def on_progress(snapshot: ProgressSnapshot) -> None:
        bars.extend((d.name, d.bytes_written, d.bytes_verified) for d in snapshot.destinations)

    first = offload_card(
        source=card,
        destinations=dests,
        label="A001",
        on_file=on_file,
        on_progress=on_progress,
        pause=pause,
        batch_bytes=1024 * 1024,
    )
    assert first.paused and not first.cancelled and not first.safe_to_format
    assert "the offload was paused before the end of the card" in first.not_safe_reasons()
    verified = {f.relpath for f in first.files if f.verified_everywhere}
    left = {f.relpath for f in first.files if all(d.status is CopyStatus.CANCELLED for d in f.destinations)}
    assert verified and left and verified | left == {f"clip{i}.mov" for i in range(6)}
    assert not partial_files(tmp_path / "a") and not partial_files(tmp_path / "b")
    assert {name for name, _, _ in bars} == {"a", "b"}  # one progress bar per destination
    assert max(v for name, _, v in bars if name == "a") > 0

    second = offload_card(source=card, destinations=dests, label="A001", batch_bytes=1024 * 1024)
    assert second.safe_to_format and not second.paused
    statuses = {f.relpath: {d.status for d in f.destinations} for f in second.files}
    assert all(statuses[p] == {CopyStatus.SKIPPED_EXISTING_VERIFIED} for p in verified)
    assert all(statuses[p] == {CopyStatus.VERIFIED} for p in left)
