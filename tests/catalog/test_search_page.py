"""The search page (with and without htmx), facets, exports and saved searches ("search templates")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import QuerySet

from catalog import search
from catalog.models import AuditEvent, Clip, SavedSearch
from formats.ale import parse_ale, read_csv
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


def result_names(html: str) -> list[str]:
    return re.findall(r'class="clip-link" href="/clips/\d+/">([^<]+)</a>', html)


def facet(html: str, name: str) -> dict[str, int]:
    block = re.search(rf'<div class="facet" id="facet-{name}"[^>]*>(.*?)</div>', html, re.S)
    assert block is not None, f"no facet {name}"
    pairs = re.findall(
        r'<span class="facet-label">([^<]+)</span> <span class="count">(\d+)</span>', block.group(1)
    )
    return {label: int(count) for label, count in pairs}


def test_page_without_javascript_is_a_plain_get_form(sw: SearchWorld) -> None:
    response = sw.world.client("editor").get("/search/", {"q": "harbour", "circled": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<form id="search-form" method="get" action="/search/"' in html
    assert result_names(html) == [C002]
    assert "1 clip" in html
    # The form shows the search it ran, so it can be refined and bookmarked.
    assert 'name="q" value="harbour"' in html
    assert '<option value="true" selected>Circled</option>' in html


def test_every_control_has_a_label(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/").content.decode()
    controls = [
        tag for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html) if 'type="hidden"' not in tag
    ]
    assert len(controls) >= 18  # the search form and the "save this search" form
    for tag in controls:
        control_id = re.search(r'\bid="([^"]+)"', tag)
        assert control_id is not None, tag
        assert f'<label for="{control_id.group(1)}">' in html, tag


def test_htmx_request_gets_results_and_facets_out_of_band(sw: SearchWorld) -> None:
    response = sw.world.client("editor").get("/search/", {"camera": "B"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="search-results"')
    assert "<html" not in html and 'id="search-form"' not in html
    assert result_names(html) == [B003, B010]
    assert 'id="facet-camera" hx-swap-oob="true"' in html
    # A history restore needs the whole page.
    full = sw.world.client("editor").get(
        "/search/", {"camera": "B"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in full.content.decode()


def test_facet_counts_describe_the_results(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"reel": "A001"}).content.decode()
    assert facet(html, "camera") == {"A": 4}
    assert facet(html, "circled") == {"Circled": 2, "Not circled": 2}
    assert facet(html, "cast") == {"Ava Stone": 3, "Ben Okafor": 1, "Chloé Martin": 1}
    assert facet(html, "day") == {"Day 1": 3}
    assert facet(html, "copies") == {
        "Fewer than 1 verified": 1,
        "Fewer than 2 verified": 3,
        "Fewer than 3 verified": 3,
    }
    # A facet link narrows the current search; a selected one removes its filter.
    assert (
        'href="?reel=A001&amp;location=Harbour"' in html or 'href="?location=Harbour&amp;reel=A001"' in html
    )
    narrowed = sw.world.client("editor").get("/search/", {"reel": "A001", "camera": "A"}).content.decode()
    assert 'href="?reel=A001" aria-current="true"' in narrowed


def test_outsider_page_shows_none_of_this_project(sw: SearchWorld) -> None:
    html = sw.world.client("outsider").get("/search/", {"q": "A001C0"}).content.decode()
    assert result_names(html) == [C001]  # OTHER's look-alike only
    assert "FILM" not in html


def test_invalid_values_are_shown_not_searched(sw: SearchWorld) -> None:
    html = sw.world.client("editor").get("/search/", {"day": "one"}).content.decode()
    assert "invalid values" in html
    assert result_names(html) == []


def test_count_stops_at_the_cap_and_facets_wait(sw: SearchWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    monkeypatch.setattr(search, "FACET_LIMIT", 2)
    html = sw.world.client("editor").get("/search/").content.decode()
    assert "More than 3 clips" in html
    assert len(result_names(html)) == 3
    assert "Counts beside the filters appear once" in html
    assert facet(html, "camera") == {}


def test_page_query_count_does_not_grow_with_rows(sw: SearchWorld, django_assert_num_queries: Any) -> None:
    client = sw.world.client("editor")

    def run() -> str:
        # session, user, project ids, capped count, the page's clips (ids sorted in a subquery), facets,
        # the project list, saved searches, the sign-off state of the page's days, the header's counts,
        # whether the user may request a restore anywhere (the selection bar's restore button).
        with django_assert_num_queries(11):
            return client.get("/search/", {"scene": "77"}).content.decode()

    for index in range(3):
        Clip.objects.create(project=sw.world.project, day=sw.clip(C001).day, name=f"S{index:03d}", scene="77")
    assert len(result_names(run())) == 3
    for index in range(3, 40):
        Clip.objects.create(project=sw.world.project, day=sw.clip(C001).day, name=f"S{index:03d}", scene="77")
    assert len(result_names(run())) == 40


def test_page_links_results_to_clip_pages_and_the_next_page(sw: SearchWorld) -> None:
    for index in range(55):
        Clip.objects.create(project=sw.world.project, name=f"P{index:03d}", scene="900")
    html = sw.world.client("editor").get("/search/", {"scene": "900"}).content.decode()
    assert "55 clips · page 1 of 2" in html
    assert 'href="?scene=900&amp;page=2" rel="next"' in html
    page2 = sw.world.client("editor").get("/search/", {"scene": "900", "page": "2"}).content.decode()
    assert result_names(page2) == [f"P{i:03d}" for i in range(50, 55)]


# --------------------------------------------------------------------------- #
# Export
# --------------------------------------------------------------------------- #


def test_csv_export_holds_the_current_results(sw: SearchWorld) -> None:
    response = sw.world.client("viewer").get("/search/export.csv", {"scene": "42", "ordering": "timecode"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="reelvault-clips.csv"' in response["Content-Disposition"]
    table = read_csv(response.content)
    rows = [table.clip_fields(row) for row in table.rows]
    assert [r["name"] for r in rows] == [WORLD_CLIP, C001, C002]
    c001 = rows[1]
    assert (c001["scene"], c001["take"], c001["cast"], c001["location"]) == (
        "42",
        "1",
        "Ava Stone, Ben Okafor",
        "Harbour",
    )
    assert (c001["start_tc"], c001["end_tc"], c001["shoot_date"]) == (
        "10:00:00:00",
        "10:00:10:00",
        "2026-11-02",
    )
    assert rows[2]["circled"] == "Yes"


def test_ale_export_imports_back(sw: SearchWorld) -> None:
    response = sw.world.client("editor").get("/search/export.ale", {"q": "A001C0"})
    assert response.status_code == 200
    table = parse_ale(response.content)
    table.raise_for_errors()
    assert table.heading_value("FPS") == "24"
    assert {"Name", "Tracks", "Start", "End"} <= set(table.columns)
    assert [row["Name"] for row in table.rows] == [C001, C002, C003]
    assert [row["Circled"] for row in table.rows] == ["", "Yes", "Yes"]


def test_export_never_includes_another_projects_clips(sw: SearchWorld) -> None:
    table = read_csv(sw.world.client("outsider").get("/search/export.csv", {"q": "A001C0"}).content)
    assert [row["Name"] for row in table.rows] == [C001]  # OTHER's own
    assert len(table.rows) == 1


def test_export_refuses_an_oversized_or_invalid_search(
    sw: SearchWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "EXPORT_LIMIT", 2)
    assert sw.world.client("editor").get("/search/export.csv", {"reel": "A001"}).status_code == 400
    assert sw.world.client("editor").get("/search/export.csv", {"reel": "B002"}).status_code == 200
    assert sw.world.client("editor").get("/search/export.ale", {"day": "x"}).status_code == 400
    assert sw.world.client("editor").get("/search/export.xml").status_code == 404


# --------------------------------------------------------------------------- #
# Saved searches
# --------------------------------------------------------------------------- #


def save(client: Any, name: str, query: str, *, project: str = "", shared: bool = False) -> Any:
    data = {"name": name, "query": query, "project": project}
    if shared:
        data["shared"] = "on"
    return client.post("/search/saved/", data)


def test_saving_a_search_keeps_its_clean_query_and_returns_to_it(sw: SearchWorld) -> None:
    response = save(sw.world.client("editor"), "Circled, day 1", "day=1&circled=true&page=3&junk=1&q=")
    assert response.status_code == 302
    saved = SavedSearch.objects.get(name="Circled, day 1")
    assert saved.query == "day=1&circled=true" and not saved.shared and saved.owner.username == "editor"
    assert response["Location"] == "/search/?day=1&circled=true"
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.actor_name, event.object_id) == (
        "saved_search.create",
        "editor",
        str(saved.pk),
    )


def test_saving_again_under_the_same_name_replaces_it(sw: SearchWorld) -> None:
    client = sw.world.client("editor")
    save(client, "Mine", "scene=42")
    save(client, "MINE", "scene=7")
    assert list(SavedSearch.objects.values_list("name", "query")) == [("MINE", "scene=7")]


def test_private_search_is_only_its_owners(sw: SearchWorld) -> None:
    save(sw.world.client("editor"), "My takes", "circled=true")
    saved = SavedSearch.objects.get()
    assert "My takes" in sw.world.client("editor").get("/search/").content.decode()
    for persona in ("admin", "viewer", "outsider"):
        assert "My takes" not in sw.world.client(persona).get("/search/").content.decode()
        assert sw.world.client(persona).get(f"/search/saved/{saved.pk}/").status_code == 404
    assert sw.world.client("editor").get(f"/search/saved/{saved.pk}/")["Location"] == "/search/?circled=true"


def test_shared_search_is_one_click_away_for_every_member(sw: SearchWorld) -> None:
    response = save(sw.world.client("editor"), "VFX plates sc. 42", "scene=42", project="FILM", shared=True)
    assert response.status_code == 302
    saved = SavedSearch.objects.get()
    assert saved.shared and saved.project == sw.world.project
    for persona in ("admin", "producer", "dit", "viewer"):
        html = sw.world.client(persona).get("/search/").content.decode()
        assert f'<a href="/search/saved/{saved.pk}/">VFX plates sc. 42</a>' in html
        assert sw.world.client(persona).get(f"/search/saved/{saved.pk}/")["Location"] == "/search/?scene=42"
    assert "VFX plates" not in sw.world.client("outsider").get("/search/").content.decode()
    assert sw.world.client("outsider").get(f"/search/saved/{saved.pk}/").status_code == 404


def test_sharing_needs_a_project_the_user_can_see(sw: SearchWorld) -> None:
    response = save(sw.world.client("editor"), "Nowhere", "scene=1", shared=True)
    assert response.status_code == 302 and not SavedSearch.objects.exists()
    assert (
        save(sw.world.client("outsider"), "Theirs", "scene=1", project="FILM", shared=True).status_code == 404
    )
    assert not SavedSearch.objects.exists()


def test_deleting_a_shared_search(sw: SearchWorld) -> None:
    save(sw.world.client("editor"), "Team", "scene=42", project="FILM", shared=True)
    saved = SavedSearch.objects.get()
    assert sw.world.client("viewer").post(f"/search/saved/{saved.pk}/delete/").status_code == 403
    assert sw.world.client("outsider").post(f"/search/saved/{saved.pk}/delete/").status_code == 404
    assert SavedSearch.objects.exists()
    assert sw.world.client("admin").post(f"/search/saved/{saved.pk}/delete/").status_code == 302
    assert not SavedSearch.objects.exists()
    assert AuditEvent.objects.latest("id").action == "saved_search.delete"


# --------------------------------------------------------------------------- #
# The "has review issues" hook
# --------------------------------------------------------------------------- #


@pytest.fixture
def no_review_filter() -> Iterator[None]:
    """No review filter installed, whatever an app installed at startup (restored afterwards)."""
    installed = search._review_issue_filter
    search.review_issue_filter_register(apply=None)
    yield
    search.review_issue_filter_register(apply=installed)


@pytest.fixture
def review_filter(no_review_filter: None) -> None:
    def only_c002(queryset: QuerySet[Clip], has: bool) -> QuerySet[Clip]:
        return queryset.filter(name=C002) if has else queryset.exclude(name=C002)

    search.review_issue_filter_register(apply=only_c002)


def test_review_issue_filter_is_hidden_and_ignored_until_installed(
    sw: SearchWorld, no_review_filter: None
) -> None:
    html = sw.world.client("editor").get("/search/", {"has_issues": "true"}).content.decode()
    assert 'id="id_has_issues"' not in html
    assert set(result_names(html)) == FILM_CLIPS


def test_review_issue_filter_applies_once_installed(sw: SearchWorld, review_filter: None) -> None:
    html = sw.world.client("editor").get("/search/", {"has_issues": "true"}).content.decode()
    assert 'id="id_has_issues"' in html
    assert result_names(html) == [C002]
    assert C002 not in sw.world.client("editor").get("/search/", {"has_issues": "false"}).content.decode()


# --------------------------------------------------------------------------- #
# The clip page
# --------------------------------------------------------------------------- #


def test_clip_page_shows_metadata_files_and_every_copy(sw: SearchWorld) -> None:
    html = sw.world.client("viewer").get(f"/clips/{sw.clip(C003).pk}/").content.decode()
    for text in ("42A", "Chloé Martin", "Rooftop", "Signature Prime 35mm", "A001/C003.mxf", "A001/C003.wav"):
        assert text in html
    rows = re.findall(r'<tr class="state-(\w+)"><td>([^<]+)', html)
    assert sorted(rows) == sorted(
        [("verified", "RAID-A"), ("verified", "SHUTTLE-1"), ("verified", "RAID-A"), ("verified", "A001-CARD")]
    )
    assert "clip-placeholder.svg" in html
    assert "1 verified copy of every file (policy: 2)" in html


def test_clip_page_restore_section_only_for_roles_that_may_restore(sw: SearchWorld) -> None:
    url = f"/clips/{sw.clip(C001).pk}/"
    for persona in ("admin", "producer", "editor", "dit"):
        assert 'id="restore"' in sw.world.client(persona).get(url).content.decode(), persona
    viewer = sw.world.client("viewer").get(url).content.decode()
    assert 'id="restore"' not in viewer and "restore" not in viewer.lower()


def test_clip_page_history_source_only_for_audit_readers(sw: SearchWorld) -> None:
    clip = sw.clip(C001)
    sw.world.client("editor").patch(f"/api/clips/{clip.pk}/", {"take": "9"}, format="json")
    admin = sw.world.client("admin").get(f"/clips/{clip.pk}/").content.decode()
    editor = sw.world.client("editor").get(f"/clips/{clip.pk}/").content.decode()
    assert re.search(r"editor \(ip:[^)]*\): edited", admin) and "editor: edited" in editor
    for html in (admin, editor):
        # The history reads as words: what happened and "field: before → after", not the stored dicts.
        assert "<li>Take: 1 → 9</li>" in html
        assert "clip.update" not in html and "{&#x27;" not in html
    assert "(ip:" in admin and "(ip:" not in editor


def test_search_nav_link_and_clip_page_links_back_to_search(sw: SearchWorld) -> None:
    html = sw.world.client("viewer").get(f"/clips/{sw.clip(B003).pk}/").content.decode()
    assert '<a href="/search/">Search</a>' in html
    assert "/search/?project=FILM&amp;cast=Ben%20Okafor" in html
    assert B010 not in html
