"""Validation rules and the review queue through the API: each rule, fix, waive, the queue following edits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import AuditEvent, Clip, Copy, MediaFile, Volume
from metadata.models import ReviewItem
from tests.fixtures import World


def put_rules(world: World, persona: str = "dit", **rules: Any) -> Any:
    return world.client(persona).put(f"/api/ingest-rules/{world.project.code}/", rules, format="json")


def items(clip: Clip, kind: str | None = None, state: str = "open") -> list[str]:
    found = ReviewItem.objects.filter(clip=clip, state=state)
    if kind:
        found = found.filter(kind=kind)
    return sorted(found.values_list("message", flat=True))


def clip(world: World, name: str, **fields: Any) -> Clip:
    values: dict[str, Any] = {"camera": "A", "reel": "A001", "scene": "1", "take": "1"}
    values.update(fields)
    return Clip.objects.create(project=world.project, name=name, **values)


def add_file(c: Clip, card_label: str, relpath: str) -> MediaFile:
    card = Volume.objects.filter(project=c.project, label=card_label).first() or Volume.objects.create(
        project=c.project, label=card_label, kind=Volume.Kind.CARD, location=f"/cards/{card_label}"
    )
    return MediaFile.objects.create(clip=c, card=card, relative_path=relpath, size=1, xxh128="0" * 32)


def test_rules_api_reads_replaces_and_reports_the_queue(world: World) -> None:
    empty = world.client("viewer").get(f"/api/ingest-rules/{world.project.code}/")
    assert empty.status_code == 200 and empty.json()["naming_pattern"] == ""
    response = put_rules(world, required_fields=["lens"], known_cameras=["a", "B"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["known_cameras"] == ["A", "B"] and body["updated_by"] == "dit"
    assert body["review"] == {"opened": 1, "reopened": 0, "closed": 0, "still_open": 0}
    again = put_rules(world, required_fields=["lens"], known_cameras=["A", "B"])
    assert again.json()["review"] == {"opened": 0, "reopened": 0, "closed": 0, "still_open": 1}
    assert ReviewItem.objects.count() == 1


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ({"naming_pattern": "{camera}{roll}{clip}"}, "has no fixed width"),
        ({"naming_pattern": "{shot}"}, "unknown token {shot}"),
        ({"required_fields": ["mood"]}, "unknown field(s) mood"),
        ({"allowed_values": {"fps": ["26"]}}, "is not a supported frame rate"),
        ({"camera_rules": {"A": {"colour": "red"}}}, "unknown rule(s) colour"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(world: World, rules: dict[str, Any], error: str) -> None:
    response = put_rules(world, **rules)
    assert response.status_code == 400
    assert error in str(response.json())
    assert not AuditEvent.objects.filter(action="ingest_rules.update").exists()


def test_naming_schema_violations(world: World) -> None:
    good = clip(world, "A001C003_230815_R2AB")
    bad = clip(world, "A001X003_230815_R2AB")
    wrong_date = clip(world, "A001C004_230231_R2AB")
    put_rules(world, naming_pattern="{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}")
    assert items(good, "naming") == []
    assert items(bad, "naming") == [
        "A001X003_230815_R2AB does not follow the naming schema "
        "{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}: position 5: expected 'C', found 'X003_230815_'"
    ]
    assert "date '230231' is not a real date (%y%m%d)" in items(wrong_date, "naming")[0]


def test_a_camera_rule_overrides_the_naming_schema_and_sets_its_frame_rate(world: World) -> None:
    red = clip(world, "B002_C005_0815XY", camera="B", fps=Decimal("24"))
    put_rules(
        world,
        naming_pattern="{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}",
        camera_rules={"B": {"naming_pattern": "{camera}{roll:03}_C{clip:03}_{card}", "fps": "25"}},
    )
    assert items(red, "naming") == []
    assert items(red, "allowed") == ["fps '24' is not allowed (allowed: 25)"]


def test_required_and_allowed_values(world: World) -> None:
    c = clip(world, "A001C010_230815_R2AB", scene="", take="", location="Studio 9", cast=["Ava", "Zed"])
    put_rules(
        world,
        required_fields=["scene", "take", "lens"],
        allowed_values={"location": ["Harbour", "studio 9"], "cast": ["Ava", "Ben"]},
    )
    assert items(c, "required") == [
        "lens is required but empty",
        "scene is required but empty",
        "take is required but empty",
    ]
    assert items(c, "allowed") == ["cast 'Zed' is not allowed (allowed: Ava, Ben)"]  # Studio 9 ~ studio 9


def test_timecode_sanity(world: World) -> None:
    bad_frames = clip(
        world, "A001C020_230815_R2AB", start_tc="10:00:00:25", fps=Decimal("25"), duration_frames=10
    )
    midnight = clip(
        world, "A001C021_230815_R2AB", start_tc="23:59:59:00", fps=Decimal("25"), duration_frames=50
    )
    no_rate = clip(world, "A001C022_230815_R2AB", start_tc="10:00:00:00")
    zero = clip(world, "A001C023_230815_R2AB", start_tc="10:00:00:00", fps=Decimal("25"), duration_frames=0)
    fine = clip(
        world, "A001C024_230815_R2AB", start_tc="10:00:00:00", fps=Decimal("23.976"), duration_frames=48
    )
    put_rules(world)
    assert items(bad_frames, "timecode") == [
        "start timecode: '10:00:00:25' is not a valid timecode: frames must be < 25 at 25 fps"
    ]
    assert items(midnight, "timecode") == ["start 23:59:59:00 + 50 frames runs past midnight (24:00:00:00)"]
    assert items(no_rate, "timecode") == ["start timecode is set but the frame rate is unknown"]
    assert items(zero, "timecode") == ["the clip is 0 frames long"]
    assert items(fine, "timecode") == []


def test_frame_rate_must_be_consistent_within_a_roll_and_moving_a_clip_out_fixes_it(world: World) -> None:
    roll = [clip(world, f"A007C00{n}_230815_R2AB", reel="A007", fps=Decimal("25")) for n in range(1, 4)]
    odd = clip(world, "A007C004_230815_R2AB", reel="A007", fps=Decimal("24"))
    other_roll = clip(world, "A008C001_230815_R2AB", reel="A008", fps=Decimal("24"))
    put_rules(world)
    assert items(odd, "fps_roll") == ["24 fps, but roll A007 is 25 fps (3 of 4 clips)"]
    assert all(items(c, "fps_roll") == [] for c in [*roll, other_roll])
    response = world.client("editor").post(
        "/api/clip-edits/", {"project": "FILM", "clips": [odd.pk], "changes": {"reel": "A008"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    (closed,) = ReviewItem.objects.filter(clip=odd, kind="fps_roll")
    assert (closed.state, closed.resolution) == ("fixed", "fixed by a metadata edit")


def test_duplicate_names_unknown_cameras_and_missing_sidecars(world: World) -> None:
    twice = clip(world, "A001C030_230815_R2AB")
    add_file(twice, "A001", "A001C030_230815_R2AB.mov")
    add_file(twice, "A009", "A001C030_230815_R2AB.mov")
    nested = clip(world, "A001C031_230815_R2AB")
    add_file(nested, "A001", "A/A001C031_230815_R2AB.mov")
    add_file(nested, "A001", "B/A001C031_230815_R2AB.mov")
    unknown = clip(world, "phone_0001", camera="")
    stranger = clip(world, "C001C001_230815_R2AB", camera="C")
    with_sidecar = clip(world, "A001C032_230815_R2AB")
    add_file(with_sidecar, "A001", "A001C032_230815_R2AB.mov")
    add_file(with_sidecar, "A001", "A001C032_230815_R2AB.mov.csv")
    put_rules(world, known_cameras=["A", "B"], require_sidecar=True)
    assert items(twice, "duplicate") == [
        "the name A001C030_230815_R2AB was recorded on cards A001, A009: two different clips share it"
    ]
    assert items(nested, "duplicate") == [
        "the same file name is in several folders: A/A001C031_230815_R2AB.mov, B/A001C031_230815_R2AB.mov"
    ]
    assert items(unknown, "unknown_camera") == [
        "the camera could not be told from the name, a sidecar or the media; set it"
    ]
    assert items(stranger, "unknown_camera") == ["camera 'C' is not one of this project's cameras (A, B)"]
    assert items(twice, "missing_sidecar") == [
        "the rules require a camera sidecar (XML/CSV) and this clip has none"
    ]
    assert items(with_sidecar, "missing_sidecar") == []


def test_fix_through_the_api_and_a_fix_that_fixes_nothing_is_refused(world: World) -> None:
    c = clip(world, "A001C040_230815_R2AB", scene="")
    put_rules(world, required_fields=["scene"], allowed_values={"scene": ["12", "13"]})
    (item,) = ReviewItem.objects.filter(clip=c, kind="required")
    client = world.client("editor")
    refused = client.post(f"/api/review-items/{item.pk}/fix/", {"changes": {"scene": "99"}}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "still a problem: scene '99' is not allowed (allowed: 12, 13)"}
    c.refresh_from_db()
    assert c.scene == ""
    assert not AuditEvent.objects.filter(action__in=["clip.update", "review.fix"]).exists()
    fixed = client.post(f"/api/review-items/{item.pk}/fix/", {"changes": {"scene": "12"}}, format="json")
    assert fixed.status_code == 200, fixed.json()
    assert fixed.json()["state"] == "fixed" and fixed.json()["resolved_by"] == "editor"
    assert fixed.json()["resolution"] == "fixed by editor: scene"
    update = AuditEvent.objects.get(action="clip.update")
    assert (update.before, update.after) == ({"scene": ""}, {"scene": "12"})
    assert AuditEvent.objects.filter(action="review.fix", object_id=str(item.pk)).exists()


def test_waive_needs_a_reason_and_a_waiver_survives_revalidation(world: World) -> None:
    c = clip(world, "A001C050_230815_R2AB", lens="")
    put_rules(world, required_fields=["lens"])
    (item,) = ReviewItem.objects.filter(clip=c)
    client = world.client("dit")
    assert (
        client.post(f"/api/review-items/{item.pk}/waive/", {"reason": ""}, format="json").status_code == 400
    )
    response = client.post(
        f"/api/review-items/{item.pk}/waive/", {"reason": "lens sheet lost"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "waived"
    put_rules(world, required_fields=["lens"])
    item.refresh_from_db()
    assert (item.state, item.waiver_reason) == ("waived", "lens sheet lost")
    event = AuditEvent.objects.get(action="review.waive")
    assert event.after == {"state": "waived", "reason": "lens sheet lost"}
    again = client.post(f"/api/review-items/{item.pk}/waive/", {"reason": "x"}, format="json")
    assert again.status_code == 400 and "already waived" in again.json()["detail"]


def test_a_fixed_problem_that_comes_back_reopens_its_item(world: World) -> None:
    c = clip(world, "A001C060_230815_R2AB", lens="")
    put_rules(world, required_fields=["lens"])
    edit = {"project": "FILM", "clips": [c.pk]}
    world.client("editor").post("/api/clip-edits/", {**edit, "changes": {"lens": "Cooke"}}, format="json")
    (item,) = ReviewItem.objects.filter(clip=c)
    assert item.state == "fixed"
    world.client("editor").post("/api/clip-edits/", {**edit, "changes": {"lens": ""}}, format="json")
    item.refresh_from_db()
    assert (item.state, item.resolution, item.resolved_by) == ("open", "", None)
    assert ReviewItem.objects.filter(clip=c).count() == 1


def test_an_extraction_problem_cannot_be_fixed_by_hand_only_waived(world: World) -> None:
    c = clip(world, "A001C070_230815_R2AB")
    item = ReviewItem.objects.create(
        project=world.project, clip=c, kind="probe", fingerprint=f"clip:{c.pk}:probe::", message="unreadable"
    )
    response = world.client("dit").post(f"/api/review-items/{item.pk}/fix/", {}, format="json")
    assert response.status_code == 400 and "re-run extraction" in response.json()["detail"]


def test_review_items_api_filters_and_never_shows_other_projects(world: World) -> None:
    c = clip(world, "A001C080_230815_R2AB", lens="")
    put_rules(world, required_fields=["lens", "location"])
    listing = world.client("viewer").get("/api/review-items/", {"project": "FILM", "kind": "required"})
    assert listing.status_code == 200
    names = {r["clip_name"] for r in listing.json()["results"]}
    assert c.name in names and world.clip.name in names
    assert world.client("outsider").get("/api/review-items/").json()["results"] == []


def test_extraction_rerun_api_queues_the_card(world: World) -> None:
    card = Volume.objects.create(project=world.project, label="A001", kind=Volume.Kind.CARD, location="/c")
    c = clip(world, "A001C090_230815_R2AB", card=card)
    raid = Volume.objects.create(
        project=world.project, label="RAID-X", kind=Volume.Kind.RAID, location="/raid", host="cart7"
    )
    media = add_file(c, "A001", "A001C090_230815_R2AB.mov")
    Copy.objects.create(
        media_file=media,
        volume=raid,
        path="A001/x.mov",
        state="verified",
        hash_found="0" * 32,
        verified_at=timezone.now(),
    )
    response = world.client("dit").post(
        "/api/metadata-extractions/", {"project": "FILM", "card": "A001"}, format="json"
    )
    assert response.status_code == 202, response.json()
    assert response.json() == {"queued": 1, "queues": {"host.cart7": 1}}
    jobs = world.client("viewer").get("/api/metadata-extractions/", {"project": "FILM"}).json()["results"]
    assert [(j["clip_name"], j["state"], j["queue"]) for j in jobs] == [(c.name, "queued", "host.cart7")]
    assert AuditEvent.objects.get(action="clip.extract_requested").after["clips"] == 1


def test_the_search_has_issues_filter_is_answered_by_the_review_queue(world: World) -> None:
    troubled = clip(world, "A001C095_230815_R2AB", lens="")
    fine = clip(world, "A001C096_230815_R2AB", lens="Cooke")
    put_rules(world, required_fields=["lens"])
    client = world.client("viewer")
    with_issues = {r["name"] for r in client.get("/api/clips/", {"has_issues": "true"}).json()["results"]}
    without = {r["name"] for r in client.get("/api/clips/", {"has_issues": "false"}).json()["results"]}
    assert troubled.name in with_issues and fine.name not in with_issues
    assert fine.name in without and troubled.name not in without


def test_rules_set_in_the_django_admin_are_checked_audited_and_validate_clips(world: World) -> None:
    c = clip(world, "A001X097_230815_R2AB")
    client = world.client("admin")
    form = {
        "project": world.project.pk,
        "naming_pattern": "{camera}{roll}{clip}",
        "required_fields": "",
        "allowed_values": "{}",
        "known_cameras": "",
        "camera_rules": "{}",
    }
    bad = client.post("/admin/metadata/ingestrules/add/", form)
    assert bad.status_code == 200 and "has no fixed width" in bad.content.decode()
    form["naming_pattern"] = "{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}"
    good = client.post("/admin/metadata/ingestrules/add/", form)
    assert good.status_code == 302, good.content.decode()[:500]
    assert items(c, "naming")
    assert AuditEvent.objects.filter(action="ingest_rules.update", actor_name="admin").count() == 1
    assert world.client("outsider").get("/admin/metadata/ingestrules/").content.decode().count("FILM") == 0


def test_patching_a_clip_that_fills_a_required_field_closes_its_review_item(world: World) -> None:
    c = clip(world, "A001C081_230815_R2AB", lens="")
    put_rules(world, required_fields=["lens"])
    (item,) = ReviewItem.objects.filter(clip=c, kind="required", field="lens", state="open")
    response = world.client("editor").patch(f"/api/clips/{c.pk}/", {"lens": "32mm"}, format="json")
    assert response.status_code == 200 and response.json()["lens"] == "32mm"
    item.refresh_from_db()
    assert (item.state, item.resolution) == ("fixed", "fixed by a metadata edit")
    assert item.resolved_by is not None and item.resolved_by.get_username() == "editor"
    assert items(c, "required") == []


def test_review_page_and_api_filter_the_queue_alike(world: World) -> None:
    card = Volume.objects.create(project=world.project, label="A009", kind=Volume.Kind.CARD, location="/c")
    on_card = clip(world, "A001C082_230815_R2AB", lens="", card=card)
    other = clip(world, "A001C083_230815_R2AB", lens="")
    put_rules(world, required_fields=["lens"])
    waived = ReviewItem.objects.get(clip=other, field="lens")
    assert (
        world.client("dit").post(f"/api/review-items/{waived.pk}/waive/", {"reason": "prime kit"}).status_code
        == 200
    )
    client = world.client("viewer")

    def api(**params: str) -> set[str]:
        response = client.get("/api/review-items/", {"project": "film", **params})
        assert response.status_code == 200, response.content
        return {row["clip_name"] for row in response.json()["results"]}

    def page(**params: str) -> set[str]:
        response = client.get("/p/FILM/review/", params)
        assert response.status_code == 200
        return {item.clip.name for item in response.context["page"].object_list}

    for params in ({"card": "a009"}, {"q": "C082"}, {"q": "lens", "state": "waived"}, {"state": "all"}):
        assert api(**params) == page(**params), params
    assert api(card="A009") == {on_card.name}
    assert api(state="waived") == {other.name}
    assert api(state="all") >= {on_card.name, other.name, world.clip.name}
    assert page() == api(state="open")  # the page opens on the open items
    assert client.get("/api/review-items/", {"state": "closed"}).status_code == 400
    assert client.get("/api/review-items/", {"kind": "nonsense"}).status_code == 400
    assert page(kind="nonsense") == page()  # the page ignores what it cannot read


def test_review_items_api_documents_its_filters(world: World) -> None:
    schema = world.client("viewer").get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"] for p in schema["paths"]["/api/review-items/"]["get"]["parameters"]}
    assert {"project", "state", "kind", "clip", "card", "day", "q", "page"} <= parameters
