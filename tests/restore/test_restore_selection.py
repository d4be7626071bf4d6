"""Restore requests from what was found: the form offers the selection, a scene, a day or a card and
never clip ids; the request page lists the clips by name with their source tier and an estimate."""

from __future__ import annotations

import re

import pytest

from restore.models import RestoreDrill, RestoreRequest
from tests.restore.conftest import Media

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def visible_inputs(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<input\b[^>]*>", html) if 'type="hidden"' not in tag]


def test_form_shows_the_ticked_clips_by_name_and_asks_for_no_ids(media: Media) -> None:
    first, second = media.clips
    response = media.world.client("editor").get(
        "/p/FILM/restores/new/", {"clip": [first.pk, second.pk, media.world.other_clip.pk]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    text = text_of(html)
    assert "2 chosen clips : 2 clips, 520.0 KB" in text
    assert f"{first.name} — scene 42, take" in text and second.name in text
    # The ids travel in one hidden field (only this project's clips); nothing asks a person for them.
    assert f'name="clips" value="{first.pk},{second.pk}"' in html
    assert not any('name="clips"' in tag or 'name="clip"' in tag for tag in visible_inputs(html))
    assert "Clip ids" not in html
    assert re.search(r'<input type="radio" name="by" value="selection"[^>]*checked', html)
    # Scenes, days and cards are picked from the project's own, by name.
    assert '<option value="42">42</option>' in html
    assert re.search(r"<option value=\"\d+\">Day 1 — \w{3} \d\d \w{3} \d{4}</option>", html)
    assert '<option value="A001">A001</option>' in html


def test_form_without_a_selection_offers_scene_day_and_card_only(media: Media) -> None:
    html = media.world.client("editor").get("/p/FILM/restores/new/").content.decode()
    assert 'value="selection"' not in html
    assert "tick them on the" in html


def test_request_from_ticked_clips_records_them(media: Media) -> None:
    first, second = media.clips
    response = media.world.client("editor").post(
        "/p/FILM/restores/new/",
        {"by": "selection", "clips": f"{first.pk},{second.pk}", "target": "editorial", "reason": "conform"},
    )
    assert response.status_code == 302
    restore = RestoreRequest.objects.get()
    assert restore.selection == {"clips": [first.pk, second.pk]}
    assert restore.file_count == 3


def test_request_from_every_match_of_a_search_restores_what_it_matches(media: Media) -> None:
    client = media.world.client("editor")
    html = client.get("/p/FILM/restores/new/", {"all": "1", "query": "q=A001C002"}).content.decode()
    assert "Every clip matching “A001C002”" in text_of(html)
    assert 'name="search" value="q=A001C002"' in html
    response = client.post(
        "/p/FILM/restores/new/",
        {"by": "selection", "search": "q=A001C002", "target": "editorial", "reason": "pickup"},
    )
    assert response.status_code == 302
    restore = RestoreRequest.objects.get()
    assert restore.selection == {"search": "q=A001C002"}
    assert {i.media_file.clip_id for i in restore.items.select_related("media_file")} == {media.clips[1].pk}


def test_a_search_selection_never_reaches_another_project(media: Media) -> None:
    """The query's own project parameter is replaced by the request's project."""
    response = media.world.client("editor").post(
        "/p/FILM/restores/new/",
        {"by": "selection", "search": "project=OTHER&scene=42", "target": "editorial", "reason": "x"},
    )
    assert response.status_code == 302
    restore = RestoreRequest.objects.get()
    assert {i.media_file.clip.project_id for i in restore.items.select_related("media_file__clip")} == {
        media.world.project.pk
    }


def test_an_invalid_search_selection_is_a_clear_error(media: Media) -> None:
    response = media.world.client("editor").post(
        "/p/FILM/restores/new/",
        {"by": "selection", "search": "day=soon", "target": "editorial", "reason": "x"},
    )
    assert response.status_code == 200
    assert "the search is not valid" in response.content.decode()
    assert not RestoreRequest.objects.exists()


def test_api_takes_a_search_selector(media: Media) -> None:
    response = media.world.client("editor").post(
        "/api/restores/",
        {"project": "FILM", "clips": {"search": "scene=42"}, "target": "editorial", "reason": "recut"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert RestoreRequest.objects.get().file_count == 3


def test_request_page_lists_clips_by_name_with_tier_and_estimate(media: Media) -> None:
    first, second = media.clips
    client = media.world.client("editor")
    client.post(
        "/p/FILM/restores/new/",
        {"by": "selection", "clips": f"{first.pk},{second.pk}", "target": "editorial", "reason": "conform"},
    )
    restore = RestoreRequest.objects.get()
    html = client.get(f"/restores/{restore.pk}/").content.decode()
    text = text_of(html)
    assert "What 2 chosen clips" in text
    assert "{'" not in html and "clips': [" not in html
    rows = re.findall(r'<th scope="row"><a href="/clips/\d+/">([^<]+)</a></th>(.*?)</tr>', html, re.S)
    assert [name for name, _ in rows] == [first.name, second.name]
    first_row = text_of(rows[0][1])
    assert "42 /" in first_row and "2" in first_row and "370.0 KB" in first_row
    # The best verified copy is on the hot RAID (hot before warm).
    assert "Hot (online disk): RAID-A" in first_row
    # No drill measured the hot tier: the assumed speed is said, and a 520 kB restore is quick.
    assert "Estimated time: under a minute" in text
    assert "520.0 KB from hot (online disk) at an assumed 200 MB/s" in text


def test_estimate_uses_the_speed_drills_measured(media: Media) -> None:
    restore_first = media.world.client("editor").post(
        "/p/FILM/restores/new/",
        {"by": "scene", "scene": "42", "target": "editorial", "reason": "conform"},
    )
    assert restore_first.status_code == 302
    restore = RestoreRequest.objects.get()
    drill_request = RestoreRequest.objects.create(
        project=media.world.project, target=media.targets["scratch"], reason="drill", is_drill=True
    )
    RestoreDrill.objects.create(
        project=media.world.project,
        request=drill_request,
        tier="hot",
        state=RestoreDrill.State.PASSED,
        mb_per_second=0.004,
        seconds=100.0,
    )
    text = text_of(media.world.client("editor").get(f"/restores/{restore.pk}/").content.decode())
    assert "What Scene 42" in text
    assert "520.0 KB from hot (online disk) at 0.004 MB/s measured by drills" in text
    assert "Estimated time: about 3 min" in text  # 520 kB at 4 kB/s: 130 s
