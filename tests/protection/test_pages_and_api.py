"""Protection pages and API: the role matrix, the policy, rules refused, on-demand replication, retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import AuditEvent, Project, Volume
from protection import services
from protection.models import ReplicationJob, ReplicationRule, VolumeGroup
from tests.fixtures import World
from tests.protection.conftest import Footage

pytestmark = pytest.mark.django_db

POLICY = {
    "required_copies": 3,
    "required_media_kinds": 2,
    "required_offsite": 1,
    "required_sites": 2,
    "worm_tiers": ["cold"],
}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin", 200), ("producer", 200), ("editor", 200), ("dit", 200), ("viewer", 200), ("outsider", 404)],
)
@pytest.mark.parametrize(
    "page", ["/p/FILM/protection/", "/p/FILM/replications/", "/api/projects/FILM/policy/"]
)
def test_every_member_sees_the_protection_pages_and_outsiders_nothing(
    world: World, persona: str, status: int, page: str
) -> None:
    assert world.client(persona).get(page).status_code == status


@pytest.mark.parametrize(
    ("persona", "status", "audited"),
    [
        ("admin", 200, False),
        ("producer", 403, True),
        ("dit", 403, True),
        ("viewer", 403, True),
        ("outsider", 404, False),
    ],
)
def test_only_admins_change_the_policy_and_refusals_are_audited(
    world: World, persona: str, status: int, audited: bool
) -> None:
    response = world.client(persona).put("/api/projects/FILM/policy/", POLICY, format="json")
    assert response.status_code == status
    project = Project.objects.get(pk=world.project.pk)
    assert (project.required_sites == 2) is (status == 200)
    assert AuditEvent.objects.filter(action="project.policy_update_refused").exists() is audited
    if status == 200:
        assert project.worm_tiers == ["cold"]
        entry = AuditEvent.objects.get(action="project.policy_update")
        assert entry.before["required_sites"] == 0 and entry.after["required_sites"] == 2


def test_a_policy_asking_more_off_site_copies_than_copies_is_refused(world: World) -> None:
    response = world.client("admin").put(
        "/api/projects/FILM/policy/", {**POLICY, "required_offsite": 4}, format="json"
    )
    assert response.status_code == 400 and "cannot exceed" in response.json()["detail"]


def test_the_policy_form_saves_the_policy(world: World) -> None:
    response = world.client("admin").post(
        "/p/FILM/protection/policy/", {**POLICY, "worm_tiers": ["cold", "warm"]}
    )
    assert response.status_code == 302
    assert Project.objects.get(pk=world.project.pk).worm_tiers == ["warm", "cold"]


@pytest.mark.parametrize(
    ("persona", "status", "audited"),
    [
        ("admin", 201, False),
        ("dit", 201, False),
        ("producer", 403, True),
        ("editor", 403, True),
        ("viewer", 403, True),
        ("outsider", 404, False),
    ],
)
def test_dits_and_admins_replicate_on_demand_through_the_api(
    footage: Footage, persona: str, status: int, audited: bool
) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    response = footage.world.client(persona).post(
        "/api/replications/", {"project": "FILM", "card": "A001"}, format="json"
    )
    assert response.status_code == status, response.content
    assert AuditEvent.objects.filter(action="replication.request_refused").exists() is audited
    if status == 201:
        body = response.json()
        assert body["files"] == 3 and body["jobs"][0]["destination"] == "LTO-1"
        job = ReplicationJob.objects.get()
        assert job.trigger == "on demand" and job.host == footage.host and job.file_count == 3
    else:
        assert not ReplicationJob.objects.exists()


def test_rules_whose_destination_is_the_source_or_a_card_are_refused(footage: Footage) -> None:
    client = footage.world.client("dit")
    raid_group = footage.group("raid", footage.raid)
    response = client.post(
        "/p/FILM/protection/rules/",
        {"source": f"group:{raid_group.pk}", "destination": raid_group.pk},
        follow=True,
    )
    assert "contains the source&#x27;s own volume" in response.content.decode()
    cards = VolumeGroup.objects.create(project=footage.world.project, name="cards")
    cards.volumes.set([footage.card])
    with pytest.raises(services.ProtectionError, match="camera card"):
        services.replication_rule_create(
            actor=footage.world.users["dit"],
            project=footage.world.project,
            destination=cards,
            source_tier="hot",
        )
    assert not ReplicationRule.objects.exists()


def test_groups_and_rules_are_made_from_the_page(footage: Footage) -> None:
    client = footage.world.client("dit")
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    assert client.post("/p/FILM/protection/groups/", {"name": "lto", "volumes": [lto.pk]}).status_code == 302
    group = VolumeGroup.objects.get(name="lto")
    assert (
        client.post("/p/FILM/protection/rules/", {"source": "tier:hot", "destination": group.pk}).status_code
        == 302
    )
    rule = ReplicationRule.objects.get()
    assert rule.source_tier == "hot" and rule.destination == group
    page = client.get("/p/FILM/protection/").content.decode()
    assert "Copy what lands on the Hot (online disk) tier to <strong>lto</strong>" in page
    assert (
        footage.world.client("viewer")
        .post("/p/FILM/protection/groups/", {"name": "x", "volumes": [lto.pk]})
        .status_code
        == 403
    )


def test_a_failed_job_is_retried_from_the_queue_page(footage: Footage, tmp_path: Path) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    planned = services.replication_request(
        actor=None, project=footage.world.project, card=footage.card, enqueue=False
    )
    job = planned.jobs[0]
    Volume.objects.filter(pk=lto.pk).update(location=str(tmp_path / "unmounted"))
    finished = services.replication_job_run(job_id=job.pk)
    assert finished is not None and finished.state == ReplicationJob.State.FAILED
    assert "is not mounted" in finished.error

    page = footage.world.client("viewer").get("/p/FILM/replications/").content.decode()
    assert "is not mounted" in page and "Retry" not in page
    assert footage.world.client("viewer").post(f"/replications/{job.pk}/retry/").status_code == 403
    assert footage.world.client("dit").post(f"/replications/{job.pk}/retry/").status_code == 302
    assert ReplicationJob.objects.get(pk=job.pk).state == ReplicationJob.State.QUEUED
    assert AuditEvent.objects.filter(action="replication.retry").exists()


def test_the_protection_page_shows_each_days_tiers_in_a_fixed_number_of_queries(footage: Footage) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD, worm=True)
    footage.rule(footage.group("lto", lto))
    footage.group("raid", footage.raid)
    client = footage.world.client("producer")
    with CaptureQueriesContext(connection) as few:
        page = client.get("/p/FILM/protection/").content.decode()
    assert "✓ all" in page and "0 of 3 · WORM" in page
    for number in range(2, 6):
        footage.world.project.days.create(number=number, date="2026-11-03")
    with CaptureQueriesContext(connection) as more:
        client.get("/p/FILM/protection/")
    assert len(more) == len(few)


def test_the_api_pauses_and_resumes_a_waiting_job_and_refuses_a_wrong_state(footage: Footage) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    job = services.replication_request(
        actor=None, project=footage.world.project, card=footage.card, enqueue=False
    ).jobs[0]
    dit, viewer = footage.world.client("dit"), footage.world.client("viewer")
    assert viewer.post(f"/api/replications/{job.pk}/pause/").status_code == 403
    assert AuditEvent.objects.filter(action="replication.pause_refused").exists()
    response = dit.post(f"/api/replications/{job.pk}/pause/")
    assert response.status_code == 200 and response.json()["state"] == "paused"
    # A paused job's files count as on their way: planning again adds nothing.
    assert (
        services.replication_request(actor=None, project=footage.world.project, card=footage.card).files == 0
    )
    assert dit.post(f"/api/replications/{job.pk}/retry/").status_code == 409
    assert dit.post(f"/api/replications/{job.pk}/resume/").json()["state"] == "queued"
    detail = viewer.get(f"/api/replications/{job.pk}/").json()
    assert detail["destination"] == "LTO-1" and len(detail["items"]) == 3
    assert footage.world.client("outsider").get(f"/api/replications/{job.pk}/").status_code == 404


def test_the_schema_describes_the_protection_operations(world: World) -> None:
    paths = world.client("viewer").get("/api/schema/?format=json").json()["paths"]
    assert {"get", "put"} <= set(paths["/api/projects/{code}/policy/"])
    assert "post" in paths["/api/replications/"]
    for verb in ("retry", "pause", "resume"):
        assert "post" in paths[f"/api/replications/{{id}}/{verb}/"]


def test_admins_edit_the_policy_in_the_django_admin_too(world: World) -> None:
    admin = world.client("admin")
    page = admin.get(f"/admin/catalog/project/{world.project.pk}/change/").content.decode()
    assert 'name="required_sites"' in page and 'name="worm_tiers"' in page
    assert 'name="site"' in admin.get(f"/admin/catalog/volume/{world.volume.pk}/change/").content.decode()
