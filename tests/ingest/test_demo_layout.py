"""The demo's seeded copies and a card offloaded in the demo share one folder layout (the preset's)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.management import call_command

from catalog.models import Copy, Project
from ingest import services
from ingest.models import OffloadPreset


def test_seeded_copies_and_a_new_offload_use_the_demo_preset_folder_template(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_VOLUME_ROOTS = [tmp_path]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    call_command("seed_demo", "--clips", "6", "--days", "2")
    call_command("seed_demo", "--clips", "6", "--days", "2")  # again: one preset, nothing re-seeded
    project = Project.objects.get(code="DEMO")
    preset = OffloadPreset.objects.get(project=project)
    assert preset.folder_template == "{project}/Day{day:03}/{card}"
    seeded = Copy.objects.filter(volume__label="RAID-01").select_related("media_file__clip__day").first()
    assert (
        seeded is not None and seeded.media_file.clip is not None and seeded.media_file.clip.day is not None
    )
    clip = seeded.media_file.clip
    assert seeded.path == f"DEMO/Day{clip.day.number:03d}/{clip.reel}/{clip.name}.mov"

    raid = project.volumes.get(label="RAID-01")
    job = services.offload_job_create(
        actor=None,
        project=project,
        source=tmp_path / "cards" / "A004",
        destinations=list(preset.destinations.all()),
        enqueue=False,
        confirm_warning=True,  # the demo's SHUTTLE-01 is a drive in warning health
    )
    assert job.folder.startswith("DEMO/Day") and job.folder.endswith("/A004")
    finished = services.offload_job_run(job_id=job.pk)
    assert finished is not None and finished.state == "completed", finished and finished.summary
    assert (Path(raid.location) / job.folder / "A004C001_261105_R7XK.mov").is_file()
    layout = re.compile(r"DEMO/Day\d{3}/[A-Z]\d{3}")
    assert layout.fullmatch(job.folder) and layout.fullmatch(str(Path(seeded.path).parent))
