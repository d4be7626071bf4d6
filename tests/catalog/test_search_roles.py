"""Role x endpoint matrix for the search page, exports, saved searches and the search API.

Like tests/catalog/test_role_matrix.py: each case checks the status for every
persona, whether an audit entry was written, and (for reads) that nobody sees
a row of a project they are not a member of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from catalog.models import AuditEvent, SavedSearch
from formats.ale import read_csv
from tests.catalog.search_world import C001, SearchWorld, build_search_world
from tests.fixtures import PERSONAS, World

ALL = {"admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"}


@pytest.fixture
def sw(world: World) -> SearchWorld:
    sw = build_search_world(world)
    # A search the editor shared with FILM, and one the viewer kept private.
    SavedSearch.objects.create(
        owner=world.users["editor"], project=world.project, name="Team", query="scene=42", shared=True
    )
    SavedSearch.objects.create(owner=world.users["viewer"], name="Mine", query="circled=true")
    return sw


def team(sw: SearchWorld) -> int:
    return SavedSearch.objects.get(name="Team").pk


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[SearchWorld], str]
    allowed: set[str]
    data: dict[str, Any] | None = None
    ok: int = 200
    denied: int = 403
    outsider: int = 404
    writes: bool = False


CASES = [
    Case("search page", "get", lambda s: "/search/?q=a001", ALL | {"outsider"}),
    Case("search page, htmx", "get", lambda s: "/search/?q=a001&camera=A", ALL | {"outsider"}),
    Case("export csv", "get", lambda s: "/search/export.csv?q=a001", ALL | {"outsider"}),
    Case("export ale", "get", lambda s: "/search/export.ale?q=a001", ALL | {"outsider"}),
    Case("api search", "get", lambda s: "/api/clips/?q=a001&copies_lt=4&ordering=-day", ALL | {"outsider"}),
    Case("api clip detail", "get", lambda s: f"/api/clips/{s.clip(C001).pk}/", ALL),
    Case(
        "save private search",
        "post",
        lambda s: "/search/saved/",
        ALL | {"outsider"},
        data={"name": "Circled", "query": "circled=true"},
        ok=302,
        writes=True,
    ),
    Case(
        "share search with FILM",
        "post",
        lambda s: "/search/saved/",
        ALL,
        data={"name": "Shared", "query": "circled=true", "project": "FILM", "shared": "on"},
        ok=302,
        writes=True,
    ),
    Case("open shared search", "get", lambda s: f"/search/saved/{team(s)}/", ALL, ok=302),
    Case(
        "delete shared search",
        "post",
        lambda s: f"/search/saved/{team(s)}/delete/",
        {"admin", "editor"},
        ok=302,
        writes=True,
    ),
]


def expected_status(case: Case, persona: str) -> int:
    if persona in case.allowed:
        return case.ok
    return case.outsider if persona == "outsider" else case.denied


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_search_role_matrix(sw: SearchWorld, case: Case, persona: str) -> None:
    client = sw.world.client(persona)
    audit_before = AuditEvent.objects.count()
    headers = {"HTTP_HX_REQUEST": "true"} if "htmx" in case.name else {}
    response = getattr(client, case.method)(case.url(sw), case.data, **headers)
    assert response.status_code == expected_status(case, persona), response.content[:300]
    assert (AuditEvent.objects.count() > audit_before) == (case.writes and persona in case.allowed)
    if case.method == "get" and response.status_code == 200:
        body = response.content.decode("utf-8-sig")
        other_only = persona == "outsider"
        # OTHER's look-alike shares C001's name, so check the project code, not clip names.
        if not case.name.startswith("export"):
            assert ("FILM" in body) is (not other_only)
        if case.name.startswith("api"):
            rows = response.json().get("results", [response.json()])
            assert {r["project"] for r in rows} == ({"OTHER"} if other_only else {"FILM"})


@pytest.mark.parametrize("persona", PERSONAS)
def test_exports_hold_only_the_users_projects(sw: SearchWorld, persona: str) -> None:
    table = read_csv(sw.world.client(persona).get("/search/export.csv", {"q": "A001C001"}).content)
    expected_shoot_date = "" if persona == "outsider" else "2026-11-02"  # OTHER's look-alike has no day
    assert [(row["Name"], row["Shoot Date"]) for row in table.rows] == [(C001, expected_shoot_date)]


@pytest.mark.parametrize(
    "url", ["/search/", "/search/export.csv", "/search/export.ale", "/search/saved/1/", "/search/saved/"]
)
def test_anonymous_is_sent_to_login(world: World, url: str) -> None:
    method = "post" if url == "/search/saved/" else "get"
    response = getattr(world.client("anonymous"), method)(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_anonymous_api_search_is_refused(world: World) -> None:
    assert world.client("anonymous").get("/api/clips/", {"q": "a001"}).status_code == 401
