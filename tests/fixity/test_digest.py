"""The weekly fixity digest of the daily report: built by ``manage.py daily_report`` and the API."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import DailyReport
from fixity.models import FixityRun
from fixity.selectors import fixity_digest
from tests.fixity.conftest import Vault, add_volume_copies, flip_byte
from tests.fixtures import VolumeFactory

pytestmark = pytest.mark.django_db


def audit(*args: str) -> None:
    # The command exits non-zero when it finds a problem, which these tests plant on purpose.
    with contextlib.suppress(SystemExit):
        call_command("fixity_audit", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_daily_report_digests_a_week_of_audits(vault: Vault, tmp_path: Path) -> None:
    flipped, _, deleted, _ = vault.files
    flip_byte(vault.path(flipped, vault.raid), 1000)
    vault.path(deleted, vault.raid).unlink()
    (Path(vault.raid.location) / "A001" / "stray.txt").write_bytes(b"hand copy")
    audit("FILM/RAID-A", "--full")
    shuttle = Path(vault.shuttle.location)
    shuttle.rename(shuttle.with_name("shuttle-in-the-van"))
    audit("FILM/SHUTTLE-A")
    # An audit older than the week is not in the digest.
    old = FixityRun.objects.create(
        project=vault.world.project, volume=vault.raid, state=FixityRun.State.FINISHED, proven=99, corrupt=7
    )
    FixityRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))

    out = io.StringIO()
    call_command("daily_report", "FILM", "--pdf", str(tmp_path / "r.pdf"), stdout=out)
    report = DailyReport.objects.get(project=vault.world.project)
    fixity = report.data["fixity"]
    assert fixity["runs"] == 2 and fixity["proven"] == 2
    assert fixity["problems"] == {"corrupt": 1, "missing": 1, "extra": 1, "moved": 0}
    assert fixity["bytes_checked"] == sum(f.size for f in vault.files if f != deleted)
    (unreachable,) = fixity["unreachable"]
    assert unreachable["volume"] == "SHUTTLE-A" and unreachable["failed_audits"] == 1 and unreachable["since"]
    volumes = {v["volume"]: v for v in fixity["volumes"]}
    assert set(volumes) == {"RAID-A", "SHUTTLE-A"}  # the card is left out
    proven_bytes = sum(f.size for f in vault.files if f not in (flipped, deleted))
    total = sum(f.size for f in vault.files)
    assert volumes["RAID-A"]["coverage"] == round(100 * proven_bytes / total, 1)
    assert volumes["RAID-A"]["problems"] == 3 and volumes["RAID-A"]["period_days"] == 7
    # The shuttle's proofs (from 2026-11-02) are older than its 14-day period.
    assert volumes["SHUTTLE-A"]["coverage"] == 0.0 and volumes["SHUTTLE-A"]["period_days"] == 14
    assert "Fixity, last 7 days" in report.html
    assert "1 corrupt, 1 missing" in report.html and "SHUTTLE-A</span> since" in report.html
    assert "KB" in report.html  # sizes in human units
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(("persona", "expected"), [("dit", 201), ("editor", 403), ("outsider", 404)])
def test_the_digest_through_the_report_api(vault: Vault, persona: str, expected: int) -> None:
    audit("FILM/RAID-A", "--full")
    response = vault.world.client(persona).post("/api/projects/FILM/reports/", {}, format="json")
    assert response.status_code == expected, response.content
    if expected == 201:
        fixity = response.json()["data"]["fixity"]
        assert fixity["proven"] == 4 and fixity["unreachable"] == []
        assert {v["volume"]: v["coverage"] for v in fixity["volumes"]}["RAID-A"] == 100.0


def test_the_digest_takes_the_same_few_queries_however_many_volumes(vault: Vault) -> None:
    audit("FILM/RAID-A", "--full")
    until = timezone.now()
    with CaptureQueriesContext(connection) as few:
        fixity_digest(project=vault.world.project, until=until)
    for index in range(5):
        volume = VolumeFactory(
            project=vault.world.project, label=f"NAS-{index}", location=str(vault.root / f"nas-{index}")
        )
        add_volume_copies(vault, volume)
        FixityRun.objects.create(
            project=vault.world.project, volume=volume, state=FixityRun.State.FINISHED, finished_at=until
        )
    with CaptureQueriesContext(connection) as many:
        digest = fixity_digest(project=vault.world.project, until=until + timedelta(seconds=1))
    assert len(digest.volumes) == 7 and digest.runs == 6
    assert len(many.captured_queries) == len(few.captured_queries) <= 4
