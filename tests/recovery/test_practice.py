"""seed_practice: a practice project with three things broken, and the time each recovery took."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import xxhash
from django.core.management import call_command

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import AuditEvent, Copy, MediaFile, Volume
from catalog.services import volume_register, volume_update
from custody.models import Handoff
from recovery.models import PracticeScenario
from reelvault.management.commands.seed_demo import demo_content


def seed(settings: Any, tmp_path: Path) -> str:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_DEMO_PASSWORD = "practice-password-for-tests"
    out = StringIO()
    call_command("seed_practice", "--clips", "6", stdout=out)
    return out.getvalue()


def test_seed_practice_breaks_three_things_and_measures_each_recovery(
    db: None, settings: Any, tmp_path: Path
) -> None:
    first = seed(settings, tmp_path)
    scenarios = {s.kind: s for s in PracticeScenario.objects.select_related("volume", "media_file")}
    assert set(scenarios) == set(PracticeScenario.Kind.values)
    assert first.count("not recovered yet") == 3
    corrupt = scenarios["corrupt_copy"]
    assert corrupt.media_file is not None
    copy = Copy.objects.get(media_file=corrupt.media_file, volume=corrupt.volume)
    on_disk = (Path(corrupt.volume.location) / copy.path).read_bytes()
    good = demo_content(corrupt.media_file.clip.name if corrupt.media_file.clip else "")
    assert copy.state == "corrupt" and on_disk != good and len(on_disk) == len(good)
    raid = scenarios["failed_drive"].volume
    assert raid.health == "failing" and raid.project.code == "PRACTICE"
    shuttle = scenarios["missing_shuttle"].volume
    assert not shuttle.online and Handoff.objects.get(volume=shuttle).state == "in_transit"
    # Everything lives under the practice project's own folder.
    assert Path(raid.location).is_relative_to(tmp_path / "volumes" / "practice")
    # Running it again breaks nothing more.
    assert seed(settings, tmp_path).count("not recovered yet") == 3
    assert PracticeScenario.objects.count() == 3

    # The trainee fixes the corrupt copy: good bytes back on the shuttle, verified again.
    (Path(corrupt.volume.location) / copy.path).write_bytes(good)
    check = CopyCheck(
        media_file=corrupt.media_file,
        path=copy.path,
        found=Found.PROVEN,
        hash_found=xxhash.xxh3_128(good).hexdigest(),
    )
    copies_record(actor=None, volume=corrupt.volume, checks=[check], source="trainee")
    after_one = seed(settings, tmp_path)
    assert after_one.count("not recovered yet") == 2 and "Corrupted card copy" in after_one

    # Replaces the failed drive: every file of RAID-01 copied, verified, to RAID-02 (hot).
    spare = volume_register(
        actor=None,
        project=raid.project,
        label="RAID-02",
        kind=Volume.Kind.RAID,
        tier=Volume.Tier.HOT,
        host=settings.REELVAULT_HOSTNAME,
        location=str(tmp_path / "spare"),
    )
    files = list(MediaFile.objects.filter(copies__volume=raid).select_related("clip"))
    half = files[: len(files) // 2]
    checks = [
        CopyCheck(
            media_file=f,
            path=f.relative_path,
            found=Found.PROVEN,
            hash_found=f.xxh128,
        )
        for f in half
    ]
    copies_record(actor=None, volume=spare, checks=checks, source="trainee")
    assert seed(settings, tmp_path).count("not recovered yet") == 2  # half a drive is not a replacement
    rest = [
        CopyCheck(media_file=f, path=f.relative_path, found=Found.PROVEN, hash_found=f.xxh128)
        for f in files[len(files) // 2 :]
    ]
    copies_record(actor=None, volume=spare, checks=rest, source="trainee")

    # Finds the shuttle and brings it back online.
    volume_update(actor=None, volume=shuttle, changes={"online": True})
    final = seed(settings, tmp_path)
    assert "not recovered yet" not in final and final.count("recovered in") == 3
    for scenario in PracticeScenario.objects.all():
        assert scenario.recovered_at is not None and scenario.recovered_at >= scenario.broken_at
    recovered = AuditEvent.objects.filter(action="practice.recovered")
    assert recovered.count() == 3  # once each, however often it is checked
    assert {e.after["kind"] for e in recovered} == set(PracticeScenario.Kind.values)
    # The demo's project is untouched by practice.
    assert not Volume.objects.exclude(project__code="PRACTICE").exists()
