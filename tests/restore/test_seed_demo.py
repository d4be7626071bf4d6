"""seed_demo creates the demo project's restore targets and drill schedule, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xxhash
from django.core.management import call_command

from catalog.models import Copy
from restore.models import DrillSchedule, RestoreTarget


def test_seed_demo_creates_restore_targets_idempotently(db: None, settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    for _ in range(2):
        call_command("seed_demo", "--clips", "4", "--days", "1")
    targets = {t.name: t for t in RestoreTarget.objects.filter(project__code="DEMO")}
    assert set(targets) == {"editorial", "vfx", "scratch"}
    for name, target in targets.items():
        assert Path(target.path) == tmp_path / "restore" / name and Path(target.path).is_dir()
        assert target.scratch == (name == "scratch") and target.host == settings.REELVAULT_HOSTNAME
    # The demo's copies are real bytes on disk, so its weekly drill is on.
    assert DrillSchedule.objects.get(project__code="DEMO").enabled
    call_command("restore_drill", "DEMO", "--schedule", "24")
    schedule = DrillSchedule.objects.get(project__code="DEMO")
    assert schedule.enabled and schedule.interval_hours == 24


def test_seed_demo_puts_real_bytes_behind_verified_copies(db: None, settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    call_command("seed_demo", "--clips", "12", "--days", "2")
    verified = Copy.objects.filter(state=Copy.State.VERIFIED).select_related("volume", "media_file")
    assert verified.count() >= 12
    for copy in verified:
        data = (Path(copy.volume.location) / copy.path).read_bytes()
        assert xxhash.xxh3_128(data).hexdigest() == copy.media_file.xxh128
    for copy in Copy.objects.filter(state=Copy.State.CORRUPT).select_related("volume", "media_file"):
        data = (Path(copy.volume.location) / copy.path).read_bytes()
        assert xxhash.xxh3_128(data).hexdigest() != copy.media_file.xxh128
    # A card is waiting under the ingest root for a DIT to offload from the browser.
    assert sorted(p.name for p in (tmp_path / "cards" / "A004").iterdir())[0] == "A004C001_261105_R7XK.mov"
