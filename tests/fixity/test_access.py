"""Pages and API of fixity: what each role may do (outsiders 404, weak roles 403, audited refusals)."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.management import call_command

from catalog.models import AuditEvent
from catalog.permissions import RoleName
from fixity.models import FixityRun
from tests.fixity.conftest import Vault
from tests.fixtures import PERSONAS

pytestmark = pytest.mark.django_db

STARTERS = {RoleName.ADMIN.value, RoleName.DIT.value}


def finished_run(vault: Vault) -> FixityRun:
    with contextlib.suppress(SystemExit):  # a non-zero exit reports problems; the run is checked below
        call_command("fixity_audit", "FILM/RAID-A", "--full", stdout=io.StringIO(), stderr=io.StringIO())
    return FixityRun.objects.latest("pk")


@pytest.mark.parametrize("persona", PERSONAS)
def test_reading_pages_and_api(vault: Vault, persona: str) -> None:
    run = finished_run(vault)
    client = vault.world.client(persona)
    urls = [
        "/p/FILM/fixity/",
        f"/volumes/{vault.raid.pk}/fixity/",
        f"/fixity-runs/{run.pk}/",
        f"/api/fixity-runs/{run.pk}/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == (404 if persona == "outsider" else 200), url
    listed = client.get("/api/fixity-runs/?project=FILM").json()
    assert [r["id"] for r in listed["results"]] == ([] if persona == "outsider" else [run.pk])


@pytest.mark.parametrize("persona", PERSONAS)
def test_starting_an_audit(vault: Vault, persona: str) -> None:
    client = vault.world.client(persona)
    before = AuditEvent.objects.count()
    response = client.post(f"/api/volumes/{vault.raid.pk}/audit/", {"kind": "sample", "sample_size": 2})
    if persona == "outsider":
        assert response.status_code == 404
        assert AuditEvent.objects.count() == before
    elif persona in STARTERS:
        assert response.status_code == 201, response.content
        run = FixityRun.objects.get(pk=response.json()["id"])
        assert (run.kind, run.sample_size, run.state, run.requested_by) == (
            "sample",
            2,
            "queued",
            vault.world.users[persona],
        )
        assert AuditEvent.objects.filter(action="fixity.request", object_id=str(run.pk)).exists()
        # One active audit per volume.
        again = client.post("/api/fixity-runs/", {"volume": vault.raid.pk}, format="json")
        assert again.status_code == 409 and "already queued" in again.json()["detail"]
    else:
        assert response.status_code == 403
        assert AuditEvent.objects.filter(action="fixity.request_refused").count() == 1
        assert not FixityRun.objects.exists()


def test_the_pages_show_the_report_in_human_units(vault: Vault) -> None:
    run = finished_run(vault)
    client = vault.world.client("viewer")
    page = client.get(f"/fixity-runs/{run.pk}/").content.decode()
    assert "4 of 4 files" in page and "520.0 kB" not in page and "520.0 KB" in page
    assert "Nothing wrong was found." in page
    volume_page = client.get(f"/volumes/{vault.raid.pk}/fixity/").content.decode()
    assert "100 % of 520.0 KB proven in the last 7 days" in volume_page
    assert "Audit now" not in volume_page  # viewers do not start audits
    overview = client.get("/p/FILM/fixity/").content.decode()
    assert "RAID-A" in overview and "SHUTTLE-A" in overview and "A001</a>" not in overview


def test_a_dit_starts_an_audit_from_the_volume_page(vault: Vault) -> None:
    client = vault.world.client("dit")
    response = client.post(f"/volumes/{vault.raid.pk}/fixity/", {"kind": "full"})
    run = FixityRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/fixity-runs/{run.pk}/"
    assert run.kind == "full" and run.requested_by == vault.world.users["dit"]
    refused = vault.world.client("editor").post(f"/volumes/{vault.raid.pk}/fixity/", {"kind": "full"})
    assert refused.status_code == 403


def test_the_project_policy_and_volume_overrides_set_the_schedule(vault: Vault) -> None:
    from fixity.models import FixityPolicy, VolumeFixity
    from fixity.selectors import policy_for

    assert policy_for(volume=vault.raid).every_days == 7
    assert policy_for(volume=vault.shuttle).every_days == 14
    FixityPolicy.objects.create(
        project=vault.world.project, tier="hot", every_days=3, budget_bytes=10**9, unreachable_alert_hours=6
    )
    assert policy_for(volume=vault.raid).every_days == 3
    VolumeFixity.objects.create(volume=vault.raid, every_days=1, budget_bytes=0)
    policy = policy_for(volume=vault.raid)
    assert (policy.every_days, policy.budget_bytes, policy.unreachable_alert_hours) == (1, 0, 6)
    admin = vault.world.client("admin")
    assert "1 fixity policy" in admin.get("/admin/fixity/fixitypolicy/").content.decode()
    outsider_view = vault.world.client("outsider").get("/admin/fixity/fixitypolicy/")
    assert outsider_view.context["cl"].result_count == 0
    # A volume override is added in the admin, offering only the user's volumes.
    form = admin.get("/admin/fixity/volumefixity/add/")
    assert form.status_code == 200
    offered = set(form.context["adminform"].form.fields["volume"].queryset)
    assert vault.raid in offered and all(v.project == vault.world.project for v in offered)


def test_a_dit_accepts_a_moved_copy_from_the_report(vault: Vault) -> None:
    from pathlib import Path

    from catalog.models import Copy

    root = Path(vault.raid.location)
    (root / "A001").rename(root / "A001-renamed")
    run = finished_run(vault)
    first = vault.files[0]
    old, new = f"A001/{first.relative_path}", f"A001-renamed/{first.relative_path}"
    refused = vault.world.client("viewer").post(f"/fixity-runs/{run.pk}/", {"path": old})
    assert refused.status_code == 403
    response = vault.world.client("dit").post(f"/fixity-runs/{run.pk}/", {"path": old})
    assert response.status_code == 302
    copy = Copy.objects.get(volume=vault.raid, media_file=first)
    assert (copy.path, copy.state) == (new, Copy.State.VERIFIED)
    assert AuditEvent.objects.filter(action="fixity.moved_accept", object_id=str(copy.pk)).exists()
    page = vault.world.client("dit").get(f"/fixity-runs/{run.pk}/").content.decode()
    assert "accepted" in page


def test_repair_on_request_and_the_weekly_trend(vault: Vault) -> None:
    from pathlib import Path

    vault.path(vault.files[0], vault.raid).unlink()
    run = finished_run(vault)
    page = vault.world.client("dit").get(f"/fixity-runs/{run.pk}/").content.decode()
    assert "1 copy is corrupt or missing on RAID-A" in page
    assert (
        "Repair from good copies"
        not in vault.world.client("viewer").get(f"/fixity-runs/{run.pk}/").content.decode()
    )
    assert (
        vault.world.client("viewer").post(f"/fixity-runs/{run.pk}/", {"action": "repair"}).status_code == 403
    )
    response = vault.world.client("dit").post(f"/fixity-runs/{run.pk}/", {"action": "repair"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="fixity.repair_request", object_id=str(run.pk)).exists()
    # WORM volumes are never rewritten: refused with the reason.
    vault.raid.worm = True
    vault.raid.save()
    response = vault.world.client("dit").post(f"/fixity-runs/{run.pk}/", {"action": "repair"}, follow=True)
    assert "RAID-A is WORM" in response.content.decode()
    overview = vault.world.client("viewer").get("/p/FILM/fixity/").content.decode()
    assert "Failures found per week" in overview and "RAID: " in overview
    assert Path(vault.raid.location).exists()
