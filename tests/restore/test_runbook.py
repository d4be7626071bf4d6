"""The runbook page, per-day seed media lists (CSV, ASC MHL), drill scheduling and the drill command."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from defusedxml import ElementTree
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.models import AuditEvent, Volume
from restore import services
from restore.models import DrillSchedule, RestoreDrill, RestoreRequest
from tests.restore.conftest import Media


def test_runbook_lists_each_tier_with_locations_steps_roles_and_unmeasured_time(media: Media) -> None:
    page = media.world.client("viewer").get("/p/FILM/runbook/").content.decode()
    assert "Hot (online disk)" in page and "Warm (nearline)" in page and "Cold (archive)" in page
    assert media.raid.location in page and media.shuttle.location in page and media.host in page
    assert "Fetch the drive(s) SHUTTLE-A" in page  # a shuttle must be brought back and connected
    assert "approves" in page and "ascmhl-debug verify" in page
    assert "not measured yet" in page  # never guessed: no drill has run
    assert "3 files" in page
    for name in ("editorial", "vfx", "scratch"):
        assert media.targets[name].path in page
    assert "/p/FILM/runbook/day-1.csv" in page and "/p/FILM/runbook/day-1.mhl" in page


def test_runbook_expected_time_comes_from_measured_drills(media: Media) -> None:
    RestoreDrill.objects.create(
        project=media.world.project,
        tier=Volume.Tier.HOT,
        state="passed",
        bytes=10**9,
        seconds=12.5,
        mb_per_second=250.0,
    )
    page = media.world.client("editor").get("/p/FILM/runbook/").content.decode()
    assert "250.0 MB/s measured by 1 passed drill" in page
    # The largest day is 520 kB: at 250 MB/s that is about 0 s of copying.
    assert "takes about 0 s" in page
    assert page.count("not measured yet") == 1  # warm is still unmeasured (cold has no volumes)
    assert "No volumes of this tier." in page


def test_seed_list_csv_has_every_file_with_its_checksum_and_copies(media: Media) -> None:
    response = media.world.client("viewer").get("/p/FILM/runbook/day-1.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="FILM_day01_seed_media.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["xxh128"] for r in rows} == {f.xxh128 for f in media.files}
    first = next(r for r in rows if r["xxh128"] == media.files[0].xxh128)
    assert (
        first["path"] == f"A001/{media.files[0].relative_path}" and int(first["size"]) == media.files[0].size
    )
    assert "RAID-A:A001/" in first["verified_copies"] and "SHUTTLE-A:A001/" in first["verified_copies"]
    event = AuditEvent.objects.latest("id")
    assert (
        event.action == "restore.seed_list_csv"
        and event.actor_name == "viewer"
        and event.after == {"files": 3}
    )


def test_seed_list_mhl_is_an_asc_mhl_generation_with_the_catalog_hashes(media: Media) -> None:
    response = media.world.client("viewer").get("/p/FILM/runbook/day-1.mhl")
    assert response.status_code == 200
    ns = {"m": "urn:ASC:MHL:v2.0"}
    root = ElementTree.fromstring(response.content)
    recorded = {
        h.find("m:path", ns).text: h.find("m:xxh128", ns).text for h in root.findall("m:hashes/m:hash", ns)
    }
    assert recorded == {f"A001/{f.relative_path}": f.xxh128 for f in media.files}
    sizes = {
        h.find("m:path", ns).text: int(h.find("m:path", ns).get("size"))
        for h in root.findall("m:hashes/m:hash", ns)
    }
    assert sizes == {f"A001/{f.relative_path}": f.size for f in media.files}


def test_seed_list_of_an_unknown_day_is_404(media: Media) -> None:
    assert media.world.client("viewer").get("/p/FILM/runbook/day-9.csv").status_code == 404


def test_scheduled_drills_start_when_due_and_take_tiers_in_turn(media: Media) -> None:
    DrillSchedule.objects.create(project=media.world.project, interval_hours=24, sample_clips=1)
    first = services.restore_drills_due()
    assert len(first) == 1
    drill = RestoreDrill.objects.get(pk=first[0])
    assert drill.trigger == "schedule" and drill.tier == "hot" and len(drill.clips) == 1
    restore = drill.request
    assert restore is not None and restore.is_drill and restore.target.name == "scratch"
    assert restore.state == "approved" and restore.required_approvals == 0
    # Not due again while it runs, nor within the interval once it finished.
    assert services.restore_drills_due() == []
    RestoreDrill.objects.filter(pk=drill.pk).update(state="passed")
    assert services.restore_drills_due() == []
    later = timezone.now() + timedelta(hours=25)
    second = services.restore_drills_due(now=later)
    assert RestoreDrill.objects.get(pk=second[0]).tier == "warm"
    # Drill requests are not restore requests anyone has to approve or can see in the list.
    assert media.world.client("admin").get("/api/restores/").json()["count"] == 0


def test_a_drill_needs_a_scratch_target(media: Media) -> None:
    media.targets["scratch"].delete()
    with pytest.raises(services.DrillError, match="no scratch restore target"):
        services.restore_drill_start(actor=None, project=media.world.project)
    response = media.world.client("dit").post("/api/drills/", {"project": "FILM"}, format="json")
    assert response.status_code == 400 and "scratch" in response.json()["detail"]


def test_drill_command_starts_a_drill(media: Media, capsys: Any) -> None:
    call_command("restore_drill", "film", "--tier", "warm", "--clips", "1")
    drill = RestoreDrill.objects.get()
    assert drill.tier == "warm" and drill.trigger == "manual"
    assert f"drill {drill.pk} of FILM started" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="restore.drill_start", source__startswith="cli:").exists()
    with pytest.raises(CommandError, match="no verified copies online in the cold tier"):
        call_command("restore_drill", "FILM", "--tier", "cold")
    assert RestoreRequest.objects.filter(is_drill=True).count() == 1
