"""Who may see, start and cancel offloads, through the API and the pages.

A start or cancel refused to a project member is audited (``offload.<action>_refused``),
as refused writes are in every app; outsiders (404) and opening the form leave nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from catalog.models import AuditEvent, Volume
from ingest.models import OffloadJob
from tests.fixtures import PERSONAS, World
from tests.ingest.conftest import write_card

MEMBERS = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}


@pytest.fixture
def offload_world(world: World, tmp_path: Path) -> tuple[World, OffloadJob, Path]:
    cards = tmp_path / "cards"
    card = write_card(cards / "A009", {"A009C001_261102_R1AB.mov": b"x" * 1000})
    dest = Volume.objects.create(
        project=world.project,
        label="RAID-Z",
        kind=Volume.Kind.RAID,
        location=str(tmp_path / "raid"),
        host="h",
    )
    job = OffloadJob.objects.create(
        project=world.project, card=world.volume, label="OLD", source_path=str(card), host="h"
    )
    job.destinations.set([dest])
    return world, job, cards


@pytest.mark.parametrize("persona", PERSONAS)
def test_offload_list_and_detail(offload_world: tuple[World, OffloadJob, Path], persona: str) -> None:
    world, job, _ = offload_world
    client = world.client(persona)
    listed = {j["id"] for j in client.get("/api/offloads/").json()["results"]}
    assert listed == ({job.pk} if persona in MEMBERS else set())
    expected = 200 if persona in MEMBERS else 404
    assert client.get(f"/api/offloads/{job.pk}/").status_code == expected
    assert client.get(f"/offloads/{job.pk}/").status_code == expected
    assert client.get("/p/FILM/offloads/").status_code == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_starting_an_offload(offload_world: tuple[World, OffloadJob, Path], persona: str) -> None:
    world, _, cards = offload_world
    before = AuditEvent.objects.count()
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client(persona).post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A009"), "destinations": ["RAID-Z"]},
            format="json",
        )
        page = world.client(persona).get("/p/FILM/offloads/new/")
    allowed = persona in {"admin", "dit"}
    expected = 201 if allowed else (404 if persona == "outsider" else 403)
    assert response.status_code == expected, response.content
    assert page.status_code == (200 if allowed else expected)
    assert OffloadJob.objects.filter(label="A009").exists() == allowed
    member_refused = not allowed and persona != "outsider"
    assert (AuditEvent.objects.count() > before) == (allowed or member_refused)
    if member_refused:
        (refusal,) = AuditEvent.objects.filter(id__gt=last_id)
        assert (refusal.action, refusal.actor_name) == ("offload.create_refused", persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_cancelling_an_offload(offload_world: tuple[World, OffloadJob, Path], persona: str) -> None:
    world, job, _ = offload_world
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = world.client(persona).post(f"/api/offloads/{job.pk}/cancel/")
    allowed = persona in {"admin", "dit"}
    assert response.status_code == (200 if allowed else 404 if persona == "outsider" else 403)
    written = list(AuditEvent.objects.filter(id__gt=last_id).values_list("action", "actor_name"))
    if allowed:
        assert ("offload.cancel", persona) in written
    else:
        assert written == ([] if persona == "outsider" else [("offload.cancel_refused", persona)])
    job.refresh_from_db()
    assert job.cancel_requested == allowed
    assert job.state == (OffloadJob.State.CANCELLED if allowed else OffloadJob.State.QUEUED)


def test_a_source_outside_the_ingest_roots_is_refused(offload_world: tuple[World, OffloadJob, Path]) -> None:
    world, _, cards = offload_world
    with override_settings(REELVAULT_INGEST_ROOTS=[cards / "elsewhere"]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A009"), "destinations": ["RAID-Z"]},
            format="json",
        )
    assert response.status_code == 400
    assert "outside this host's ingest roots" in response.json()["detail"]


def test_path_traversal_out_of_the_ingest_roots_is_refused(
    offload_world: tuple[World, OffloadJob, Path],
) -> None:
    world, _, cards = offload_world
    (cards / "inner").mkdir()
    with override_settings(REELVAULT_INGEST_ROOTS=[cards / "inner"]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "inner" / ".." / "A009"), "destinations": ["RAID-Z"]},
            format="json",
        )
    assert response.status_code == 400
    assert not OffloadJob.objects.filter(label="A009").exists()


def test_report_downloads_are_audited(offload_world: tuple[World, OffloadJob, Path]) -> None:
    world, job, _ = offload_world
    client = world.client("producer")
    csv = client.get(f"/offloads/{job.pk}/report.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "# Card,OLD" in csv.content.decode()
    pdf = client.get(f"/offloads/{job.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    actions = list(AuditEvent.objects.filter(object_id=str(job.pk)).values_list("action", "actor_name"))
    assert ("offload.report_csv", "producer") in actions and ("offload.report_pdf", "producer") in actions


def test_a_refused_cancel_from_the_page_is_audited_like_the_api(
    offload_world: tuple[World, OffloadJob, Path],
) -> None:
    world, job, _ = offload_world
    response = world.client("editor").post(f"/offloads/{job.pk}/cancel/")
    assert response.status_code == 403
    refusal = AuditEvent.objects.get(action="offload.cancel_refused")
    assert (refusal.actor_name, refusal.object_id, refusal.project_id) == (
        "editor",
        str(job.pk),
        job.project_id,
    )
    job.refresh_from_db()
    assert not job.cancel_requested
