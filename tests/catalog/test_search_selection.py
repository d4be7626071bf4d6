"""Selecting search results (ticked rows or "select all N matches") and what a selection opens:
the list page, CSV/ALE exports, the way to a restore request; the "no results" hint; marks that read.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import AuditEvent
from formats.ale import parse_ale, read_csv
from tests.catalog.search_world import (
    B003,
    B010,
    C001,
    C002,
    C003,
    WORLD_CLIP,
    SearchWorld,
    build_search_world,
)
from tests.fixtures import PERSONAS, World

RESTORERS = {"admin", "producer", "editor", "dit", "colorist", "vfx"}


@pytest.fixture
def sw(world: World) -> SearchWorld:
    return build_search_world(world)


def listed(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/clips/\d+/">([^<]+)</a></th>', html)


def test_results_have_row_checkboxes_and_select_all_matches(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"scene": "42"}).content.decode()
    assert '<form id="selection-form" method="get" action="/search/selection/"' in html
    assert f'value="{sw.clip(C001).pk}" form="selection-form"' in html
    assert "Select all 3 matches" in html
    assert '<input type="hidden" name="query" value="scene=42">' in html
    for action in ("Request restore…", "Open as list", "Export CSV", "Export ALE"):
        assert action in html


@pytest.mark.parametrize("persona", PERSONAS)
def test_search_offers_restore_of_a_selection_only_to_roles_that_may_request_one(
    sw: SearchWorld, persona: str
) -> None:
    html = sw.world.client(persona).get("/search/", {"q": "A001C001"}).content.decode()
    assert "Open as list" in html  # everyone finds at least their own project's look-alike
    # The outsider is an admin of OTHER: restores there are theirs to request.
    assert ("Request restore…" in html) == (persona in RESTORERS | {"outsider"})


def test_ticked_clips_open_as_a_list_by_name_with_sizes(sw: SearchWorld) -> None:
    ids = [sw.clip(C001).pk, sw.clip(B003).pk, sw.world.other_clip.pk]  # another project's id drops out
    response = sw.world.client("viewer").get("/search/selection/", {"clip": ids, "query": "q=a"})
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == [C001, B003]
    assert "2 ticked clips." in html
    assert html.count(">1.0 MB</td>") == 2  # one 1 MB file each (copies do not add to the size)
    assert "{'" not in html and "[" + str(ids[0]) not in html
    # A viewer cannot request restores: no restore action on the page.
    assert "Request restore" not in html


def test_select_all_means_every_match_of_the_search_not_the_page(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    html = client.get("/search/selection/", {"all": "1", "query": "scene=42"}).content.decode()
    assert listed(html) == [C001, C002, WORLD_CLIP]
    assert "All 3 clips matching in scene 42." in html
    # Ticked ids sent alongside are ignored: the selection is the search.
    html = client.get(
        "/search/selection/", {"all": "1", "query": "camera=B", "clip": sw.clip(C001).pk}
    ).content
    assert listed(html.decode()) == [B003, B010]


def test_a_selection_exports_as_csv_and_ale(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    ids = [sw.clip(C002).pk, sw.clip(C003).pk]
    response = client.get("/search/selection/", {"clip": ids, "action": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert [row["Name"] for row in read_csv(response.content).rows] == [C002, C003]
    response = client.get("/search/selection/", {"all": "1", "query": "camera=B", "action": "ale"})
    table = parse_ale(response.content)
    table.raise_for_errors()
    assert [row["Name"] for row in table.rows] == [B003, B010]


def test_restore_action_goes_to_the_projects_request_form_with_the_selection(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    response = client.get("/search/selection/", {"all": "1", "query": "scene=42", "action": "restore"})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == "/p/FILM/restores/new/"
    assert parse_qs(target.query) == {"all": ["1"], "query": ["scene=42"]}
    ids = [sw.clip(C001).pk, sw.clip(B003).pk]
    response = client.get("/search/selection/", {"clip": ids, "action": "restore"})
    assert parse_qs(urlsplit(response["Location"]).query) == {"clip": [str(pk) for pk in ids]}


def test_restore_action_for_a_role_that_may_not_restore_stays_on_the_list(sw: SearchWorld) -> None:
    response = sw.world.client("viewer").get(
        "/search/selection/", {"clip": [sw.clip(C001).pk], "action": "restore"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain == []
    assert "Your role does not allow requesting restores of these clips." in html
    assert listed(html) == [C001]


def test_an_empty_or_forged_selection_goes_back_to_the_search_with_the_reason(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    response = client.get("/search/selection/", {"query": "camera=A", "action": "list"})
    assert response.status_code == 302 and response["Location"] == "/search/?camera=A"
    html = client.get("/search/selection/", {"clip": "1;DROP"}, follow=True).content.decode()
    assert "Nothing to do: clips are chosen by ticking them on the search page." in html


@pytest.mark.parametrize("persona", PERSONAS)
def test_selection_page_role_matrix(sw: SearchWorld, persona: str) -> None:
    """Every role may list what it can see; restore actions only where the role may request one;
    an outsider's selection of FILM clips is empty. Reading writes no audit entry."""
    before = AuditEvent.objects.count()
    ids = [sw.clip(C001).pk, sw.clip(C002).pk]
    response = sw.world.client(persona).get("/search/selection/", {"clip": ids})
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == ([] if persona == "outsider" else [C001, C002])
    assert ("Request restore" in html) == (persona in RESTORERS)
    assert AuditEvent.objects.count() == before
    assert sw.world.client("anonymous").get("/search/selection/", {"clip": ids}).status_code == 302


def test_selection_list_query_count_does_not_grow_with_clips(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    client.get("/search/selection/", {"all": "1", "query": "camera=A"})  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get("/search/selection/", {"all": "1", "query": "scene=42A"})
    with CaptureQueriesContext(connection) as three:
        client.get("/search/selection/", {"all": "1", "query": "camera=A"})
    assert len(three) == len(one)


def test_no_results_hint_names_the_filter_that_excluded_them(sw: SearchWorld) -> None:
    html = (
        sw.world.client("editor")
        .get("/search/", {"q": "harbour", "camera": "B", "day": "1"})
        .content.decode()
    )
    hint = re.search(r'<div class="empty" id="no-results">(.*?)</div>', html, re.S)
    assert hint is not None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", hint.group(1))).strip()
    assert text.startswith("No clips match “harbour” on day 1 with camera B.")
    assert "Without the camera filter there are 2 clips: show them." in text
    assert "Without the search words filter" not in text  # dropping it still finds nothing (B on day 1)
    assert "Without the shoot day filter" not in text
    assert 'href="/search/?q=harbour&amp;day=1">show them' in hint.group(1)


def test_no_results_hint_says_when_no_single_filter_helps(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"q": "nosuchword", "camera": "Z"}).content.decode()
    assert "No clips match “nosuchword” with camera Z." in html
    assert "Dropping any single filter still finds nothing" in html


def test_marks_have_words_and_cast_stays_on_one_line(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"scene": "42"}).content.decode()
    assert "3 of 2 required" in html  # C001: three verified copies, the project asks for two
    assert "1 of 2 required" in html and "short" in html
    assert 'id="results-legend"' in html
    for words in ("circled take", "day signed off by the producer", "day not signed off yet"):
        assert words in html
    cast = '<span class="cast-line" title="Ava Stone, Ben Okafor">Ava Stone, Ben Okafor</span>'
    assert f'<td class="cast">{cast}</td>' in html


def test_no_results_hint_costs_one_bounded_count_per_active_filter(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    client.get("/search/")  # warm the session
    with CaptureQueriesContext(connection) as two:
        client.get("/search/", {"q": "harbour", "camera": "B"})
    with CaptureQueriesContext(connection) as three:
        client.get("/search/", {"q": "harbour", "camera": "B", "day": "1"})
    assert len(three) == len(two) + 1
    counts = [q["sql"] for q in three.captured_queries if "LIMIT 1001" in q["sql"]]
    assert len(counts) == 3  # each relaxed count stops after RELAX_CAP + 1 rows
