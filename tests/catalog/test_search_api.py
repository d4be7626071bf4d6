"""/api/clips/: every search parameter, free text and partial names, ordering, the detail, the schema."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from catalog import search
from catalog.models import Clip
from tests.catalog.search_world import (
    B003,
    B010,
    C001,
    C002,
    C003,
    FILM_CLIPS,
    WORLD_CLIP,
    SearchWorld,
    build_search_world,
)
from tests.fixtures import World


@pytest.fixture
def sw(world: World) -> SearchWorld:
    return build_search_world(world)


def names(client: APIClient, **params: Any) -> list[str]:
    response = client.get("/api/clips/", params)
    assert response.status_code == 200, response.content[:300]
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Free text: every word must start a word of the clip; partial clip names work.
        ({"q": "C003"}, {C003, B003}),
        ({"q": "A001C0"}, {C001, C002, C003}),
        ({"q": "a001c00"}, {C001, C002, C003}),
        ({"q": "B002C01"}, {B010}),
        ({"q": "Q7XY"}, {B003, B010}),
        ({"q": "261103"}, {B003, B010}),
        ({"q": "ava harbour"}, {C001, C002}),
        ({"q": "harb"}, {C001, C002}),
        ({"q": "okafor"}, {C001, B003}),
        ({"q": "boom frame"}, {C001}),
        ({"q": "chloé"}, {C003}),
        ({"q": "42a"}, {C003}),
        ({"q": "ava rooftop"}, set()),
        ({"q": "  ,;  "}, FILM_CLIPS),  # nothing to search for: no filter
        # One filter at a time (case-insensitive where it is text).
        ({"project": "film"}, FILM_CLIPS),
        ({"day": "2"}, {B003, B010}),
        ({"scene": "42"}, {C001, C002, WORLD_CLIP}),
        ({"scene": "42a"}, {C003}),
        ({"scene": "42", "take": "2"}, {C002}),
        ({"camera": "b"}, {B003, B010}),
        ({"reel": "a001"}, {C001, C002, C003, WORLD_CLIP}),
        ({"cast": "ava stone"}, {C001, C002, WORLD_CLIP}),
        ({"cast": "CHLOÉ MARTIN"}, {C003}),
        # Partial names (issue 17): every word starts a word of one actor's name, of the location.
        ({"cast": "Ava"}, {C001, C002, WORLD_CLIP}),
        ({"cast": "stone ava"}, {C001, C002, WORLD_CLIP}),
        ({"cast": "ava okafor"}, set()),  # two actors' names, not one
        ({"cast": "chlo"}, {C003}),
        ({"location": "HARBOUR"}, {C001, C002}),
        ({"location": "harb"}, {C001, C002}),
        ({"location": "road fore"}, {B010}),  # "Forest road"
        ({"location": "oad"}, set()),  # the start of a word, not its middle
        ({"location": "harb", "cast": "ben"}, {C001}),
        ({"lens": "signature prime 35mm"}, {C001, C003}),
        ({"codec": "prores 4444 xq"}, {B003, B010}),
        ({"circled": "true"}, {C002, C003, B010}),
        ({"circled": "false"}, {C001, B003, WORLD_CLIP}),
        ({"copies_lt": "1"}, {B010, WORLD_CLIP}),
        ({"copies_lt": "2"}, {C002, C003, B010, WORLD_CLIP}),
        ({"copies_lt": "3"}, FILM_CLIPS - {C001}),
        ({"copies_lt": "4"}, FILM_CLIPS),
        ({"modified_since": "2026-05-01"}, {C001}),
        ({"modified_since": "2026-05-01T00:00:00Z"}, {C001}),
        # Combined.
        ({"q": "harbour", "circled": "true", "day": "1"}, {C002}),
        ({"cast": "Ben Okafor", "copies_lt": "3"}, {B003}),
    ],
)
def test_search_parameters(sw: SearchWorld, params: dict[str, str], expected: set[str]) -> None:
    assert set(names(sw.world.client("editor"), **params)) == expected


def test_a_search_never_shows_another_projects_clips(sw: SearchWorld) -> None:
    # OTHER has a clip with C001's name and metadata: members of FILM never see it, and vice versa.
    film = sw.world.client("viewer").get("/api/clips/", {"q": "A001C001"}).json()["results"]
    assert [(c["project"], c["name"]) for c in film] == [("FILM", C001)]
    other = sw.world.client("outsider").get("/api/clips/", {"q": "A001C001"}).json()["results"]
    assert [(c["project"], c["name"]) for c in other] == [("OTHER", C001)]
    assert names(sw.world.client("editor"), project="OTHER") == []
    assert names(sw.world.client("outsider"), project="FILM") == []


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", [C001, C002, C003, B003, B010, WORLD_CLIP]),
        ("-name", [WORLD_CLIP, B010, B003, C003, C002, C001]),
        ("timecode", [WORLD_CLIP, B003, C001, C002, C003, B010]),
        ("-timecode", [B010, C003, C002, C001, B003, WORLD_CLIP]),
        # By shoot day (clips without a day last), then timecode within the day.
        ("day", [C001, C002, C003, B003, B010, WORLD_CLIP]),
        ("-day", [B010, B003, C003, C002, C001, WORLD_CLIP]),
    ],
)
@pytest.mark.parametrize(
    ("small", "budget"),
    [(True, None), (False, None), (False, 1)],
    ids=["read-then-sort", "index-order", "index-order-gives-up"],
)
def test_ordering(
    sw: SearchWorld,
    ordering: str,
    expected: list[str],
    small: bool,
    budget: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small results are sorted on wrapped keys, large ones on the plain columns: same order either way.
    if not small:
        monkeypatch.setattr(search, "FILTER_FIRST_LIMIT", 0)
    if budget is not None:
        # A walk that runs out of its budget before the page is full collects and sorts instead.
        monkeypatch.setattr(search, "WALK_ROWS", budget)
        monkeypatch.setattr(search, "WALK_FACTOR", 0)
    assert names(sw.world.client("editor"), ordering=ordering) == expected


def test_ordering_by_last_modified(sw: SearchWorld) -> None:
    assert names(sw.world.client("editor"), ordering="-modified")[0] == C001
    assert names(sw.world.client("editor"), ordering="modified")[-1] == C001


@pytest.mark.parametrize(
    "params",
    [
        {"day": "one"},
        {"copies_lt": "0"},
        {"copies_lt": "x"},
        {"ordering": "size"},
        {"modified_since": "yesterday"},
    ],
)
def test_invalid_parameters_answer_400_naming_the_parameter(sw: SearchWorld, params: dict[str, str]) -> None:
    response = sw.world.client("editor").get("/api/clips/", params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_list_is_paginated(sw: SearchWorld) -> None:
    for index in range(60):
        Clip.objects.create(project=sw.world.project, name=f"P{index:03d}", scene="900")
    client = sw.world.client("editor")
    first = client.get("/api/clips/", {"scene": "900"}).json()
    assert first["count"] == 60 and len(first["results"]) == 50 and "page=2" in first["next"]
    second = client.get("/api/clips/", {"scene": "900", "page": 2}).json()
    assert len(second["results"]) == 10 and second["next"] is None


def test_list_rows_carry_the_copy_count(sw: SearchWorld) -> None:
    rows = sw.world.client("editor").get("/api/clips/", {"q": "A001C0"}).json()["results"]
    assert {r["name"]: r["min_verified_copies"] for r in rows} == {C001: 3, C002: 1, C003: 1}


def test_detail_has_files_and_every_copy(sw: SearchWorld) -> None:
    clip = sw.clip(C003)
    body = sw.world.client("viewer").get(f"/api/clips/{clip.pk}/").json()
    assert body["name"] == C003 and body["min_verified_copies"] == 1
    copies = {
        (
            f["relative_path"],
            c["volume"],
            c["tier"],
            c["host"],
            c["state"],
            bool(c["hash_found"]),
            bool(c["verified_at"]),
        )
        for f in body["files"]
        for c in f["copies"]
    }
    assert copies == {
        ("A001/C003.mxf", "RAID-A", "hot", "testhost", "verified", True, True),
        ("A001/C003.mxf", "SHUTTLE-1", "warm", "testhost", "verified", True, True),
        ("A001/C003.wav", "RAID-A", "hot", "testhost", "verified", True, True),
        ("A001/C003.wav", "A001-CARD", "hot", "testhost", "verified", True, True),
    }


def test_detail_of_another_projects_clip_is_not_found(sw: SearchWorld) -> None:
    assert sw.world.client("outsider").get(f"/api/clips/{sw.clip(C001).pk}/").status_code == 404


@pytest.mark.parametrize("rows", [2, 30])
def test_list_query_count_does_not_grow_with_rows(
    sw: SearchWorld, rows: int, django_assert_num_queries: Any
) -> None:
    for index in range(rows):
        Clip.objects.create(
            project=sw.world.project, day=sw.clip(C001).day, name=f"N{index:03d}", scene="901"
        )
    client = sw.world.client("editor")
    # session, user, the user's projects, count, the page's clips (its ids sorted in a
    # subquery, then those clips with project and day joined in).
    with django_assert_num_queries(5):
        response = client.get("/api/clips/", {"scene": "901", "q": "n0", "ordering": "day"})
    assert response.json()["count"] == rows


def test_detail_query_count(sw: SearchWorld, django_assert_num_queries: Any) -> None:
    client = sw.world.client("editor")
    # session, user, projects, clip, files, copies with their volumes.
    with django_assert_num_queries(6):
        response = client.get(f"/api/clips/{sw.clip(C003).pk}/")
    assert len(response.json()["files"]) == 2


def test_openapi_schema_documents_every_search_parameter(world: World) -> None:
    response = world.client("viewer").get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    parameters = {p["name"]: p for p in schema["paths"]["/api/clips/"]["get"]["parameters"]}
    expected = {
        "q",
        "project",
        "day",
        "scene",
        "take",
        "camera",
        "reel",
        "cast",
        "location",
        "lens",
        "codec",
        "circled",
        "copies_lt",
        "modified_since",
        "ordering",
        "page",
    }
    assert expected <= set(parameters)
    assert set(parameters["ordering"]["schema"]["enum"]) >= {"name", "timecode", "day", "-modified"}
    assert "partial" in parameters["q"]["description"].lower()
    detail = schema["components"]["schemas"]["ClipDetail"]["properties"]
    assert "files" in detail


def test_list_rows_are_exactly_what_the_clip_serializer_says(sw: SearchWorld) -> None:
    from catalog.api import ClipListSerializer, ClipSerializer

    odd = Clip.objects.create(
        project=sw.world.project, name="ODD", fps="23.976", cast=["Zoë"], extra={"iso": 800, "tags": ["a"]}
    )
    for clip in Clip.objects.select_related("project", "day").filter(project=sw.world.project):
        assert ClipListSerializer(clip).data == ClipSerializer(clip).data, clip.name
    row = next(r for r in sw.world.client("editor").get("/api/clips/", {"q": "odd"}).json()["results"])
    assert (row["id"], row["fps"], row["day"], row["extra"]) == (
        odd.pk,
        "23.976",
        None,
        {"iso": 800, "tags": ["a"]},
    )


def test_count_is_exact_up_to_the_bound_then_says_more(
    sw: SearchWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sw.world.client("editor")
    exact = client.get("/api/clips/").json()
    assert (exact["count"], exact["count_exact"]) == (6, True)
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    bounded = client.get("/api/clips/").json()
    # Never a wrong number: "3, and more than that", and only as many rows as the bound.
    assert (bounded["count"], bounded["count_exact"]) == (3, False)
    assert len(bounded["results"]) == 3
    at_the_bound = client.get("/api/clips/", {"circled": "true"}).json()
    assert (at_the_bound["count"], at_the_bound["count_exact"]) == (3, True)


@pytest.mark.parametrize(
    ("ordering", "expected"), [("day", [C002, C003, B010]), ("-day", [B010, C003, C002])]
)
def test_a_large_result_by_shoot_day_is_read_day_by_day(
    sw: SearchWorld, ordering: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past FILTER_FIRST_LIMIT the days are walked in date order (WORLD_CLIP, without a day, is not circled).
    monkeypatch.setattr(search, "FILTER_FIRST_LIMIT", 0)
    assert names(sw.world.client("editor"), circled="true", ordering=ordering) == expected


@pytest.mark.parametrize("small", [True, False], ids=["read-then-sort", "index-order"])
def test_an_edited_clip_is_found_by_its_new_words(
    sw: SearchWorld, small: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The search document is a stored column that PostgreSQL recomputes on every write.
    if not small:
        monkeypatch.setattr(search, "FILTER_FIRST_LIMIT", 0)
    client = sw.world.client("editor")
    clip = sw.clip(B003)
    clip.notes = "Tumbleweed crosses frame"
    clip.cast = ["Ava Lindqvist"]
    clip.save()
    assert names(client, q="tumble") == [B003]
    assert names(client, cast="lindq") == [B003]
    Clip.objects.filter(pk=clip.pk).update(location="Lighthouse")
    assert names(client, location="light", q="tumbleweed") == [B003]
    assert names(client, location="diner", q="tumbleweed") == []
