"""The role x endpoint matrix: each role gets exactly what it should, and nothing leaks across projects.

Every case also checks whether an audit entry was written: writes that are
allowed leave one; a write refused to a project member leaves one too (a
security event, as in every app); reads and outsiders (404) leave none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from catalog.models import AuditEvent
from tests.fixtures import PERSONAS, World

ALL = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    allowed: set[str]
    data: dict[str, Any] | None = None
    ok: int = 200
    # Status for project members whose role is too weak, and for outsiders.
    denied: int = 403
    outsider: int = 404
    writes: bool = False
    audits_refusal: bool = False  # a member refused here leaves an `<action>_refused` entry
    action: str = ""  # the audit action of an allowed write


CASES = [
    Case("project list", "get", lambda w: "/api/projects/", ALL | {"outsider"}),
    Case("project detail", "get", lambda w: f"/api/projects/{w.project.code}/", ALL),
    Case("clip list", "get", lambda w: "/api/clips/", ALL | {"outsider"}),
    Case("clip detail", "get", lambda w: f"/api/clips/{w.clip.pk}/", ALL),
    Case(
        "clip edit",
        "patch",
        lambda w: f"/api/clips/{w.clip.pk}/",
        {"admin", "editor", "dit"},
        data={"scene": "43"},
        writes=True,
        audits_refusal=True,
        action="clip.update",
    ),
    Case("volume list", "get", lambda w: "/api/volumes/", ALL | {"outsider"}),
    Case(
        "volume register",
        "post",
        lambda w: "/api/volumes/",
        {"admin", "dit"},
        data={"project": "FILM", "label": "SHUTTLE-9", "kind": "shuttle", "location": "/mnt/s9"},
        ok=201,
        writes=True,
        audits_refusal=True,
        action="volume.register",
    ),
    Case(
        "volume change",
        "patch",
        lambda w: f"/api/volumes/{w.volume.pk}/",
        {"admin", "dit"},
        data={"online": False},
        writes=True,
        audits_refusal=True,
        action="volume.update",
    ),
    Case("audit log", "get", lambda w: "/api/audit/", {"admin", "producer", "outsider"}),
    Case(
        "grant role",
        "post",
        lambda w: "/api/memberships/",
        {"admin"},
        data={"project": "FILM", "username": "viewer", "role": "editor"},
        writes=True,
        audits_refusal=True,
        action="membership.set",
    ),
    Case("project page", "get", lambda w: f"/p/{w.project.code}/", ALL),
    Case("project audit page", "get", lambda w: f"/p/{w.project.code}/audit/", {"admin", "producer"}),
    Case("clip page", "get", lambda w: f"/clips/{w.clip.pk}/", ALL),
    # The admin needs is_staff (only the project admin and the outsider have it);
    # the outsider's changelist shows no rows of this project (checked below).
    Case(
        "admin clip list",
        "get",
        lambda w: "/admin/catalog/clip/",
        {"admin", "outsider"},
        denied=302,
        outsider=200,
    ),
]


def expected_status(case: Case, persona: str) -> int:
    if persona in case.allowed:
        return case.ok
    if persona == "outsider":
        return case.outsider
    return case.denied


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_role_matrix(world: World, case: Case, persona: str) -> None:
    client = world.client(persona)
    audit_before = AuditEvent.objects.count()
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = getattr(client, case.method)(case.url(world), case.data, format="json")
    assert response.status_code == expected_status(case, persona), response.content[:300]
    wrote = AuditEvent.objects.count() > audit_before
    member_refused = persona not in case.allowed and persona != "outsider"
    assert wrote == ((case.writes and persona in case.allowed) or (case.audits_refusal and member_refused))
    if case.audits_refusal and member_refused:
        (refusal,) = AuditEvent.objects.filter(id__gt=last_id)
        assert (refusal.action, refusal.actor_name) == (f"{case.action}_refused", persona)
        assert refusal.project_id == world.project.pk and "does not allow" in refusal.after["reason"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_refused_everywhere(world: World, case: Case) -> None:
    response = getattr(world.client("anonymous"), case.method)(case.url(world), case.data, format="json")
    if case.url(world).startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert "/login/" in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_never_leak_another_projects_rows(world: World, persona: str) -> None:
    client = world.client(persona)
    clips = client.get("/api/clips/", {"scene": "42"}).json()["results"]
    projects = {c["project"] for c in clips}
    expected = {"OTHER"} if persona == "outsider" else {"FILM"}
    assert projects == expected
    project_codes = {p["code"] for p in client.get("/api/projects/").json()["results"]}
    assert project_codes == expected
    volumes = client.get("/api/volumes/").json()["results"]
    assert all(v["project"] in expected for v in volumes)


def test_admin_site_shows_only_own_projects_rows(world: World) -> None:
    page = world.client("outsider").get("/admin/catalog/clip/").content.decode()
    assert world.other_clip.name in page
    assert world.clip.name not in page


def test_outsider_cannot_register_a_volume_in_a_project_it_cannot_see(world: World) -> None:
    response = world.client("outsider").post(
        "/api/volumes/", {"project": "FILM", "label": "X", "kind": "raid", "location": "/x"}, format="json"
    )
    assert response.status_code == 404
    assert not world.project.volumes.filter(label="X").exists()


def test_clip_edit_records_before_and_after(world: World) -> None:
    response = world.client("editor").patch(f"/api/clips/{world.clip.pk}/", {"take": "7"}, format="json")
    assert response.status_code == 200
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.actor_name) == ("clip.update", "editor")
    assert event.before == {"take": "1"} and event.after == {"take": "7"}
    assert event.source.startswith("ip:")
    world.clip.refresh_from_db()
    assert world.clip.take == "7"


def test_role_change_is_audited_and_takes_effect(world: World) -> None:
    viewer = world.client("viewer")
    assert viewer.patch(f"/api/clips/{world.clip.pk}/", {"scene": "1"}, format="json").status_code == 403
    response = world.client("admin").post(
        "/api/memberships/", {"project": "FILM", "username": "viewer", "role": "editor"}, format="json"
    )
    assert response.status_code == 200
    event = AuditEvent.objects.latest("id")
    assert event.action == "membership.set"
    assert event.before["role"] == "viewer" and event.after["role"] == "editor"
    assert viewer.patch(f"/api/clips/{world.clip.pk}/", {"scene": "1"}, format="json").status_code == 200
