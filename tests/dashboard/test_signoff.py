"""Signing off a shoot day: refused while it is not safe, recorded, audited, reversible; who may do it."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from alerts.models import Notification
from catalog.models import AuditEvent, Copy, DaySignOff
from catalog.selectors import day_signed_off, signed_off_day_ids
from dashboard.selectors import card_released_for_reformat
from tests.dashboard.conftest import Site
from tests.fixtures import PERSONAS


def test_sign_off_is_refused_while_a_clip_is_short_of_copies(site: Site) -> None:
    site.days[2].expected_cards.filter(label="C002").delete()  # only the short clip stands in the way now
    response = site.world.client("producer").post("/api/projects/FILM/days/2/signoff/", {"comment": "done"})
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["reasons"] == [
        "1 of 2 clips do not meet the storage policy (3 verified copies on 2 kind(s) of media, 1 off-site)"
    ]
    assert not DaySignOff.objects.exists() and not day_signed_off(day=site.days[2])
    refusal = AuditEvent.objects.get(action="day.sign_off_refused")
    assert refusal.actor_name == "producer" and refusal.after == {"reasons": body["reasons"]}
    # The DIT makes the third copy: now it signs off.
    media_file = site.clips["A002C002"].files.get()
    Copy.objects.create(
        media_file=media_file,
        volume=site.volumes["NAS-1"],
        path="x",
        state="verified",
        hash_found="h",
        verified_at=media_file.created_at,
    )
    assert site.world.client("producer").post("/api/projects/FILM/days/2/signoff/").status_code == 201
    assert day_signed_off(day=site.days[2])


def test_sign_off_is_refused_while_an_offload_fails_or_runs_or_a_card_is_missing(site: Site) -> None:
    response = site.world.client("admin").post("/api/projects/FILM/days/3/signoff/")
    assert response.status_code == 409
    reasons = response.json()["reasons"]
    assert any("A003 failed or is incomplete" in r for r in reasons)
    assert any("B003 are still being offloaded" in r for r in reasons)
    missing = site.world.client("admin").post("/api/projects/FILM/days/2/signoff/").json()["reasons"]
    assert any("C002 listed in the camera report are not offloaded yet" in r for r in missing)
    empty = site.world.client("admin").post("/api/projects/FILM/days/4/signoff/").json()["reasons"]
    assert empty == ["no clip of this day is in the catalog yet"]
    assert not DaySignOff.objects.exists()


def test_a_producer_signs_off_a_complete_day_and_the_cards_and_footage_are_released(site: Site) -> None:
    response = site.world.client("producer").post(
        "/api/projects/FILM/days/1/signoff/", {"comment": "all three copies checked"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["signed_off"] is True and body["state_label"] == "Signed off"
    assert body["signoff"]["by"] == "producer" and body["signoff"]["released_cards"] == ["A001", "B001"]
    row = DaySignOff.objects.get()
    assert (row.action, row.actor_name, row.comment) == ("sign_off", "producer", "all three copies checked")
    assert row.figures["clips"] == 3 and row.figures["policy"]["met"] is True
    event = AuditEvent.objects.get(action="day.sign_off")
    assert event.object_id == str(site.days[1].pk) and event.after["released_cards"] == ["A001", "B001"]
    assert day_signed_off(day=site.days[1]) and signed_off_day_ids(
        day_ids=[site.days[1].pk, site.days[2].pk, None]
    ) == {site.days[1].pk}
    assert card_released_for_reformat(card=site.cards["A001"]) and not card_released_for_reformat(
        card=site.cards["A002"]
    )
    released = Notification.objects.get(user__username="dit", kind="day.signed_off")
    assert "A001, B001" in released.body
    assert Notification.objects.filter(user__username="editor", kind="day.released").exists()
    # Signing off twice is refused.
    again = site.world.client("admin").post("/api/projects/FILM/days/1/signoff/")
    assert again.status_code == 409 and again.json()["reasons"][0].startswith(
        "already signed off by producer"
    )


def test_reopening_needs_a_reason_and_takes_the_release_back(site: Site) -> None:
    client = site.world.client("producer")
    assert (
        client.post("/api/projects/FILM/days/1/reopen/", {"reason": "x"}).status_code == 409
    )  # not signed off
    assert client.post("/api/projects/FILM/days/1/signoff/").status_code == 201
    assert client.post("/api/projects/FILM/days/1/reopen/", {"reason": " "}).status_code == 400
    response = client.post("/api/projects/FILM/days/1/reopen/", {"reason": "LTO-1 failed its check"})
    assert response.status_code == 200 and response.json()["signed_off"] is False
    assert not day_signed_off(day=site.days[1]) and not card_released_for_reformat(card=site.cards["A001"])
    assert [r.action for r in DaySignOff.objects.order_by("id")] == ["sign_off", "reopen"]
    reopen = AuditEvent.objects.get(action="day.reopen")
    assert (
        reopen.after == {"reason": "LTO-1 failed its check"} and reopen.before["signed_off_by"] == "producer"
    )
    history = client.get("/api/projects/FILM/days/1/").json()["history"]
    assert [h["action"] for h in history] == ["reopen", "sign_off"]
    assert Notification.objects.filter(user__username="dit", kind="day.reopened").exists()


@pytest.mark.parametrize("persona", [*PERSONAS, "anonymous"])
def test_role_matrix_for_signing_off(site: Site, persona: str) -> None:
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    response = site.world.client(persona).post("/api/projects/FILM/days/1/signoff/")
    expected = {"admin": 201, "producer": 201, "outsider": 404, "anonymous": 401}.get(persona, 403)
    assert response.status_code == expected, response.content
    written = list(AuditEvent.objects.exclude(pk__in=before).values_list("action", "actor_name"))
    if expected == 201:
        assert written == [("day.sign_off", persona)]
    elif expected == 403:
        assert written == [("day.sign_off_refused", persona)]
        assert not DaySignOff.objects.exists()
    else:
        assert written == []  # outsiders and anonymous callers learn nothing and leave no entry


@pytest.mark.parametrize("persona", ["editor", "dit", "viewer"])
def test_weak_roles_cannot_reopen(site: Site, persona: str) -> None:
    assert site.world.client("admin").post("/api/projects/FILM/days/1/signoff/").status_code == 201
    response = site.world.client(persona).post("/api/projects/FILM/days/1/reopen/", {"reason": "because"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="day.reopen_refused", actor_name=persona).exists()
    assert day_signed_off(day=site.days[1])


def test_the_day_page_signs_off_and_shows_a_refusal(site: Site) -> None:
    client = site.world.client("producer")
    page = client.get("/p/FILM/days/2/").content.decode()
    assert "Not ready to sign off" in page and "C002" in page and "Sign off day 2" in page
    refused = client.post("/p/FILM/days/2/signoff/", {"unit": "main"}, follow=True).content.decode()
    assert "Sign-off refused" in refused and "do not meet the storage policy" in refused
    done = client.post(
        "/p/FILM/days/1/signoff/", {"unit": "main", "comment": "ok"}, follow=True
    ).content.decode()
    assert "signed off: its cards are released for reformat" in done and "Reopen the day" in done
    assert day_signed_off(day=site.days[1])
    viewer_page = site.world.client("viewer").get("/p/FILM/days/1/").content.decode()
    assert "Sign off day" not in viewer_page and "Reopen the day" not in viewer_page
    assert site.world.client("viewer").post("/p/FILM/days/2/signoff/").status_code == 403
    assert site.world.client("outsider").get("/p/FILM/days/1/").status_code == 404


def test_the_editorial_badge_says_whether_the_day_is_signed_off(site: Site) -> None:
    pending = render_to_string("catalog/_signoff_badge.html", {"signed_off": False})
    assert "Not yet signed off" in pending
    assert "Signed off" in render_to_string("catalog/_signoff_badge.html", {"signed_off": True})
    tag = Template("{% load signoff %}{% signoff_badge day %}")
    assert "Not yet signed off" in tag.render(Context({"day": site.days[1]}))
    assert "Not yet signed off" in tag.render(Context({"day": None}))
    site.world.client("producer").post("/api/projects/FILM/days/1/signoff/")
    assert "Not yet signed off" not in tag.render(Context({"day": site.days[1]}))


def test_search_results_tell_the_editor_which_days_are_signed_off(site: Site) -> None:
    def badges(day: int) -> tuple[int, int]:
        """(signed-off badges, not-yet badges) on the results of one day; one per row."""
        query = {"project": "FILM", "day": str(day)}
        html = site.world.client("editor").get("/search/", query).content.decode()
        html = html.split('id="results-legend"')[0]  # the legend below shows one mark of each kind
        rows = html.count('class="clip-link"')
        assert rows > 0, f"no clips of day {day} in the results"
        signed, pending = html.count("signoff-badge signed"), html.count("signoff-badge pending")
        assert signed + pending == rows
        return signed, pending

    assert badges(1)[0] == 0 and badges(2)[0] == 0
    assert site.world.client("producer").post("/api/projects/FILM/days/1/signoff/").status_code == 201
    assert badges(1)[1] == 0 and badges(2)[0] == 0


def test_sign_off_and_reopen_tell_the_roles_whose_capabilities_say_so(site: Site) -> None:
    assert site.world.client("producer").post("/api/projects/FILM/days/1/signoff/").status_code == 201
    reopened = site.world.client("admin").post(
        "/api/projects/FILM/days/1/reopen/", {"reason": "LTO-1 failed"}
    )
    assert reopened.status_code == 200, reopened.content

    def told(kind: str) -> set[str]:
        return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))

    assert told("day.signed_off") == {"admin", "dit"}  # Cap.INGEST: they reformat the cards
    assert told("day.released") == {"editor"}  # Cap.TAKE_RELEASES: editorial
    assert told("day.reopened") == {"admin", "dit", "editor"}  # everyone told of the release
