"""Role x endpoint matrix of the metadata pages and API, with the audit-written check.

Every case checks the status for each persona and whether an audit entry was
written: allowed writes leave one, and so does a write refused to a member of
the project (``<action>_refused``, as in every app); refused reads leave none.
Outsiders (members of another project only) get 404, weaker roles 403,
anonymous users a login redirect (pages) or 401 (API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import AuditEvent, Volume
from metadata.models import ReviewItem
from metadata.review import ingest_rules_update
from tests.fixtures import PERSONAS, World
from tests.metadata.test_ale_command import ale

ALL = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}
EDIT = {"admin", "editor", "dit"}
INGEST = {"admin", "dit"}


@dataclass
class Meta:
    """What the cases need besides the world: an open review item with an editable field."""

    world: World
    item: ReviewItem


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[Meta], str]
    allowed: set[str]
    data: Callable[[Meta], dict[str, Any]] = field(default=lambda m: {})
    ok: int = 200
    denied: int = 403
    outsider: int = 404
    writes: bool = False
    multipart: bool = False
    refused_as: str = ""  # a member refused here leaves this `<action>_refused` audit entry


def ale_file(m: Meta) -> SimpleUploadedFile:
    return SimpleUploadedFile("day.ale", ale(["Name", "Scene"], [[m.world.clip.name, "43"]]).encode())


CASES = [
    # Pages.
    Case("metadata home", "get", lambda m: "/p/FILM/metadata/", ALL),
    Case("review queue", "get", lambda m: "/p/FILM/review/", ALL),
    Case(
        "validate all", "post", lambda m: "/p/FILM/review/validate/", EDIT, ok=302, writes=True,
        refused_as="review.validate",
    ),
    Case(
        "fix item (page)", "post", lambda m: f"/review/{m.item.pk}/fix/", EDIT,
        data=lambda m: {"value": "Cooke S4 32mm"}, ok=302, writes=True,
        refused_as="review.fix",
    ),
    Case(
        "waive item (page)", "post", lambda m: f"/review/{m.item.pk}/waive/", INGEST,
        data=lambda m: {"reason": "lens sheet lost"}, ok=302, writes=True,
        refused_as="review.waive",
    ),
    Case("rules page", "get", lambda m: "/p/FILM/rules/", ALL),
    Case(
        "rules save", "post", lambda m: "/p/FILM/rules/", INGEST,
        data=lambda m: {"required_fields": ["scene"]}, ok=302, writes=True,
        refused_as="ingest_rules.update",
    ),
    Case("clip edit page", "get", lambda m: f"/clips/{m.world.clip.pk}/edit/", EDIT),
    Case(
        "clip edit save", "post", lambda m: f"/clips/{m.world.clip.pk}/edit/", EDIT,
        data=lambda m: {"scene": "43", "take": "1", "camera": "A", "reel": "A001"}, ok=302, writes=True,
        refused_as="clip.update",
    ),
    Case("bulk edit page", "get", lambda m: "/p/FILM/clips/edit/", EDIT),
    Case(
        "bulk edit save", "post", lambda m: "/p/FILM/clips/edit/", EDIT,
        data=lambda m: {"scene": "44", "clips": [m.world.clip.pk]}, ok=302, writes=True,
        refused_as="clip.update",
    ),
    Case("thumbnail", "get", lambda m: f"/clips/{m.world.clip.pk}/thumbnail/", ALL),
    Case(
        "re-run extraction (page)", "post", lambda m: "/p/FILM/metadata/rerun/", INGEST,
        data=lambda m: {"card": "A001"}, ok=302, writes=True,
        refused_as="clip.extract_requested",
    ),
    Case("ALE page", "get", lambda m: "/p/FILM/ale/", ALL),
    Case(
        "ALE upload", "post", lambda m: "/p/FILM/ale/", EDIT,
        data=lambda m: {"file": ale_file(m)}, ok=302, multipart=True,
        refused_as="ale.import",
    ),
    Case("ALE export (page)", "get", lambda m: "/p/FILM/ale/export/?format=csv", ALL, writes=True),
    # API.
    Case("review items (API)", "get", lambda m: "/api/review-items/", ALL | {"outsider"}),
    Case("review item (API)", "get", lambda m: f"/api/review-items/{m.item.pk}/", ALL),
    Case(
        "fix item (API)", "post", lambda m: f"/api/review-items/{m.item.pk}/fix/", EDIT,
        data=lambda m: {"changes": {"lens": "Cooke S4 32mm"}}, writes=True,
        refused_as="review.fix",
    ),
    Case(
        "waive item (API)", "post", lambda m: f"/api/review-items/{m.item.pk}/waive/", INGEST,
        data=lambda m: {"reason": "lens sheet lost"}, writes=True,
        refused_as="review.waive",
    ),
    Case("rules (API)", "get", lambda m: "/api/ingest-rules/FILM/", ALL),
    Case(
        "rules replace (API)", "put", lambda m: "/api/ingest-rules/FILM/", INGEST,
        data=lambda m: {"required_fields": ["lens", "scene"]}, writes=True,
        refused_as="ingest_rules.update",
    ),
    Case(
        "clip edits (API)", "post", lambda m: "/api/clip-edits/", EDIT,
        data=lambda m: {"project": "FILM", "clips": [m.world.clip.pk], "changes": {"scene": "45"}},
        writes=True,
        refused_as="clip.update",
    ),
    Case("extractions (API)", "get", lambda m: "/api/metadata-extractions/", ALL | {"outsider"}),
    Case(
        "re-run extraction (API)", "post", lambda m: "/api/metadata-extractions/", INGEST,
        data=lambda m: {"project": "FILM", "card": "A001"}, ok=202, writes=True,
        refused_as="clip.extract_requested",
    ),
    Case(
        "ALE import preview (API)", "post", lambda m: "/api/ale-imports/", EDIT,
        data=lambda m: {"project": "FILM", "file": ale_file(m)}, multipart=True,
    ),
    Case(
        "ALE import apply (API)", "post", lambda m: "/api/ale-imports/", EDIT,
        data=lambda m: {"project": "FILM", "file": ale_file(m), "apply": "true"}, multipart=True, writes=True,
        refused_as="ale.import",
    ),
    Case("ALE export (API)", "get", lambda m: "/api/ale-exports/?project=FILM&type=ale", ALL, writes=True),
]  # fmt: skip


@pytest.fixture
def meta(world: World) -> Meta:
    card = Volume.objects.create(project=world.project, label="A001", kind=Volume.Kind.CARD, location="/c")
    world.clip.card = card
    world.clip.save()
    ingest_rules_update(actor=None, project=world.project, required_fields=["lens"])
    return Meta(world=world, item=ReviewItem.objects.get(clip=world.clip, field="lens"))


def expected_status(case: Case, persona: str) -> int:
    if persona in case.allowed:
        return case.ok
    if persona == "outsider":
        return case.outsider
    return case.denied


def request(meta: Meta, case: Case, persona: str) -> Any:
    client = meta.world.client(persona)
    url = case.url(meta)
    # Pages take form posts; the API JSON, except for file uploads.
    as_form = case.multipart or not url.startswith("/api/")
    return getattr(client, case.method)(url, case.data(meta), format="multipart" if as_form else "json")


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_role_matrix(meta: Meta, case: Case, persona: str) -> None:
    audit_before = AuditEvent.objects.count()
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = request(meta, case, persona)
    assert response.status_code == expected_status(case, persona), response.content[:300]
    wrote = AuditEvent.objects.count() > audit_before
    member_refused = persona not in case.allowed and persona != "outsider"
    assert wrote == ((case.writes and persona in case.allowed) or (bool(case.refused_as) and member_refused))
    if case.refused_as and member_refused:
        (refusal,) = AuditEvent.objects.filter(id__gt=last_id)
        assert (refusal.action, refusal.actor_name) == (f"{case.refused_as}_refused", persona)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_refused_everywhere(meta: Meta, case: Case) -> None:
    audit_before = AuditEvent.objects.count()
    response = request(meta, case, "anonymous")
    if case.url(meta).startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    assert AuditEvent.objects.count() == audit_before
