"""The role x endpoint matrix for restores: API and pages enforce the same rules.

Each case also checks the audit log: allowed writes leave an entry; a write
refused to a project member is audit-logged too (restore refusals are
security events); outsiders get 404 and leave nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from catalog.models import AuditEvent
from restore import services
from restore.models import RestoreRequest
from tests.fixtures import PERSONAS
from tests.restore.conftest import Media

ALL = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}
REQUESTERS = {"admin", "producer", "editor", "dit", "colorist", "vfx"}
# Colorists and VFX restore only to their own targets (the fixture has editorial, vfx, scratch).
TO_EDITORIAL = REQUESTERS - {"colorist", "vfx"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[Media, RestoreRequest], str]
    allowed: set[str]
    data: Callable[[Media], dict[str, Any]] | None = None
    ok: int = 200
    denied: int = 403
    outsider: int = 404
    writes: bool = False
    audits_refusal: bool = False  # a member refused here leaves an audit entry


def _request_data(media: Media) -> dict[str, Any]:
    return {"project": "FILM", "clips": [media.clips[0].pk], "target": "editorial", "reason": "recut"}


CASES = [
    Case("restore list", "get", lambda m, r: "/api/restores/", ALL | {"outsider"}),
    Case("restore detail", "get", lambda m, r: f"/api/restores/{r.pk}/", REQUESTERS),
    Case(
        "restore request",
        "post",
        lambda m, r: "/api/restores/",
        TO_EDITORIAL,
        data=_request_data,
        ok=201,
        writes=True,
        audits_refusal=True,
    ),
    Case(
        "restore request to vfx",
        "post",
        lambda m, r: "/api/restores/",
        TO_EDITORIAL | {"vfx"},
        data=lambda m: {**_request_data(m), "target": "vfx"},
        ok=201,
        writes=True,
        audits_refusal=True,
    ),
    # The pending request was made by the editor: the editor may not approve it, nor anyone but admins.
    Case(
        "restore approve",
        "post",
        lambda m, r: f"/api/restores/{r.pk}/approve/",
        {"admin"},
        data=lambda m: {"comment": "ok"},
        writes=True,
        audits_refusal=True,
    ),
    Case(
        "restore reject",
        "post",
        lambda m, r: f"/api/restores/{r.pk}/reject/",
        {"admin"},
        data=lambda m: {"comment": "not now"},
        writes=True,
        audits_refusal=True,
    ),
    Case("target list", "get", lambda m, r: "/api/restore-targets/", ALL | {"outsider"}),
    Case(
        "target create",
        "post",
        lambda m, r: "/api/restore-targets/",
        {"admin"},
        data=lambda m: {"project": "FILM", "name": "colour", "path": str(m.root / "colour")},
        ok=201,
        writes=True,
    ),
    Case("drill list", "get", lambda m, r: "/api/drills/", ALL | {"outsider"}),
    Case(
        "drill start",
        "post",
        lambda m, r: "/api/drills/",
        {"admin", "dit"},
        data=lambda m: {"project": "FILM"},
        ok=201,
        writes=True,
    ),
    Case("restore list page", "get", lambda m, r: "/p/FILM/restores/", REQUESTERS),
    Case("restore new page", "get", lambda m, r: "/p/FILM/restores/new/", REQUESTERS),
    Case(
        "restore new page post",
        "post",
        lambda m, r: "/p/FILM/restores/new/",
        TO_EDITORIAL,
        data=lambda m: {
            "by": "selection",
            "clips": str(m.clips[0].pk),
            "target": "editorial",
            "reason": "recut",
        },
        ok=302,
        writes=True,
        audits_refusal=True,
    ),
    Case(
        "restore new page from a selection",
        "get",
        lambda m, r: f"/p/FILM/restores/new/?clip={m.clips[0].pk}&clip={m.clips[1].pk}",
        REQUESTERS,
    ),
    Case(
        "restore new page from every match of a search",
        "get",
        lambda m, r: "/p/FILM/restores/new/?all=1&query=scene%3D42",
        REQUESTERS,
    ),
    Case(
        "restore new page post, every match of a search",
        "post",
        lambda m, r: "/p/FILM/restores/new/",
        TO_EDITORIAL,
        data=lambda m: {"by": "selection", "search": "scene=42", "target": "editorial", "reason": "recut"},
        ok=302,
        writes=True,
        audits_refusal=True,
    ),
    Case("restore page", "get", lambda m, r: f"/restores/{r.pk}/", REQUESTERS),
    Case(
        "restore approve page",
        "post",
        lambda m, r: f"/restores/{r.pk}/approve/",
        {"admin"},
        data=lambda m: {"comment": "ok"},
        ok=302,
        writes=True,
        audits_refusal=True,
    ),
    Case("runbook page", "get", lambda m, r: "/p/FILM/runbook/", ALL),
    Case("seed list csv", "get", lambda m, r: "/p/FILM/runbook/day-1.csv", ALL, writes=True),
    Case("seed list mhl", "get", lambda m, r: "/p/FILM/runbook/day-1.mhl", ALL, writes=True),
    Case("drills page", "get", lambda m, r: "/p/FILM/drills/", ALL),
    Case("drill run page", "post", lambda m, r: "/p/FILM/drills/run/", {"admin", "dit"}, ok=302, writes=True),
    Case("notifications page", "get", lambda m, r: "/notifications/", ALL | {"outsider"}),
]


def expected_status(case: Case, persona: str) -> int:
    if persona in case.allowed:
        return case.ok
    return case.outsider if persona == "outsider" else case.denied


@pytest.fixture
def pending(media: Media) -> RestoreRequest:
    return services.restore_request_create(
        actor=media.world.users["editor"],
        project=media.world.project,
        selection=services.Selection(scene="42"),
        target="editorial",
        reason="director's cut",
    )


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_role_matrix(media: Media, pending: RestoreRequest, case: Case, persona: str) -> None:
    client = media.world.client(persona)
    audit_before = AuditEvent.objects.count()
    data = case.data(media) if case.data else None
    response = getattr(client, case.method)(
        case.url(media, pending),
        data,
        **({"format": "json"} if case.url(media, pending).startswith("/api/") else {}),
    )
    assert response.status_code == expected_status(case, persona), response.content[:400]
    wrote = AuditEvent.objects.count() > audit_before
    member_refused = persona not in case.allowed and persona != "outsider"
    assert wrote == ((case.writes and persona in case.allowed) or (case.audits_refusal and member_refused))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_refused_everywhere(media: Media, pending: RestoreRequest, case: Case) -> None:
    client = media.world.client("anonymous")
    url = case.url(media, pending)
    response = getattr(client, case.method)(url, case.data(media) if case.data else None)
    if url.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_restore_lists_never_leak_another_projects_requests(
    media: Media, pending: RestoreRequest, persona: str
) -> None:
    results = media.world.client(persona).get("/api/restores/").json()["results"]
    ids = {r["id"] for r in results}
    assert ids == ({pending.pk} if persona in REQUESTERS else set())
