"""The metadata pages: ALE upload -> preview -> apply, export, review queue, rules, clip and bulk edit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import AuditEvent, Clip, ShootDay, Volume
from metadata.models import AleUpload, IngestRules, ReviewItem
from metadata.review import ingest_rules_update
from tests.fixtures import World
from tests.metadata.test_ale_command import ale


@pytest.fixture
def day_clips(world: World) -> list[Clip]:
    day = ShootDay.objects.create(project=world.project, number=3, date="2026-11-04")
    card = Volume.objects.create(project=world.project, label="D001", kind=Volume.Kind.CARD, location="/c")
    return [
        Clip.objects.create(
            project=world.project,
            day=day,
            card=card,
            name=f"D001C{n:03d}_261104_R2CD",
            camera="D",
            reel="D001",
            start_tc=f"12:{n:02d}:00:00",
            fps=Decimal("24"),
            duration_frames=240,
        )
        for n in range(1, 13)
    ]


def upload(world: World, persona: str, name: str, text: str, **extra: str) -> object:
    client = world.client(persona)
    return client.post(
        f"/p/{world.project.code}/ale/",
        {"file": SimpleUploadedFile(name, text.encode()), **extra},
        format="multipart",
    )


def test_upload_preview_then_apply_in_the_pages(world: World, day_clips: list[Clip]) -> None:
    text = ale(
        ["Name", "Scene", "Take", "Circled"],
        [["D001C001_261104_R2CD", "42", "2", "Yes"], ["D001C002_261104_R2CD", "42", "3", ""]],
    )
    response = upload(world, "editor", "script.ale", text)
    assert response.status_code == 302
    stored = AleUpload.objects.get()
    assert response["Location"] == f"/ale/uploads/{stored.pk}/"
    client = world.client("editor")
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "2 clips would change" in body
    assert "D001C001_261104_R2CD" in body and "circled" in body
    assert Clip.objects.get(pk=day_clips[0].pk).scene == ""  # the preview wrote nothing
    digest = page.context["plan"].digest
    applied = client.post(response["Location"], {"digest": digest})
    assert applied.status_code == 302
    first = Clip.objects.get(pk=day_clips[0].pk)
    assert (first.scene, first.take, first.circled) == ("42", "2", True)
    assert AuditEvent.objects.filter(action="clip.ale_import").count() == 2
    stored.refresh_from_db()
    assert stored.applied_at is not None and bytes(stored.data) == b""
    again = client.post(response["Location"], {"digest": digest})  # a second click changes nothing
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="clip.ale_import").count() == 2


def test_apply_refuses_a_plan_that_changed_since_the_preview(world: World, day_clips: list[Clip]) -> None:
    response = upload(world, "dit", "s.ale", ale(["Name", "Scene"], [["D001C001_261104_R2CD", "42"]]))
    client = world.client("dit")
    digest = client.get(response["Location"]).context["plan"].digest
    Clip.objects.filter(pk=day_clips[0].pk).update(scene="41")  # someone edits meanwhile
    refused = client.post(response["Location"], {"digest": digest})
    assert refused.status_code == 400
    assert "the catalog changed since the preview" in refused.content.decode()
    assert Clip.objects.get(pk=day_clips[0].pk).scene == "41"
    assert not AuditEvent.objects.filter(action="clip.ale_import").exists()


def test_a_bad_file_shows_its_errors_with_lines_and_cannot_be_applied(
    world: World, day_clips: list[Clip]
) -> None:
    text = ale(
        ["Name", "Start"], [["D001C001_261104_R2CD", "12:01:00:00"], ["D001C002_261104_R2CD", "25:00:00:00"]]
    )
    response = upload(world, "editor", "bad.ale", text)
    client = world.client("editor")
    page = client.get(response["Location"])
    assert page.status_code == 400
    body = page.content.decode()
    assert (
        "bad.ale, line 12: Start: &#x27;25:00:00:00&#x27; is not a valid timecode: hours must be &lt; 24"
        in body
    )
    assert "Apply" not in body
    refused = client.post(response["Location"], {"digest": "x"})
    assert refused.status_code == 400
    assert not AuditEvent.objects.filter(action__in=["clip.ale_import", "ale.import"]).exists()


def test_an_upload_over_50_mb_is_refused_and_not_stored(world: World) -> None:
    client = world.client("editor")
    big = SimpleUploadedFile("huge.ale", b"Heading\n" + b"x" * (50 * 1024 * 1024))
    response = client.post(f"/p/{world.project.code}/ale/", {"file": big})
    assert response.status_code == 400
    assert "huge.ale: file is too large" in response.content.decode()
    assert not AleUpload.objects.exists()


def test_someone_elses_upload_is_not_found(world: World, day_clips: list[Clip]) -> None:
    response = upload(world, "editor", "s.ale", ale(["Name", "Scene"], [["D001C001_261104_R2CD", "42"]]))
    assert world.client("dit").get(response["Location"]).status_code == 404
    assert world.client("outsider").get(response["Location"]).status_code == 404


def test_export_a_day_from_the_page(world: World, day_clips: list[Clip]) -> None:
    response = world.client("viewer").get(
        f"/p/{world.project.code}/ale/export/", {"day": "3", "format": "ale"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="FILM_day003.ale"'
    text = response.content.decode()
    assert text.startswith("Heading\r\n") and "FPS\t24\r\n" in text
    assert text.count("D001C0") == 12
    event = AuditEvent.objects.get(action="clip.export")
    assert (event.actor_name, event.after["clips"], event.after["day"]) == ("viewer", 12, 3)
    csv = world.client("viewer").get(
        f"/p/{world.project.code}/ale/export/", {"card": "D001", "format": "csv"}
    )
    assert csv["Content-Disposition"] == 'attachment; filename="FILM_D001.csv"'


def test_bulk_edit_sets_scene_42_on_twelve_clips_with_an_audit_entry_each(
    world: World, day_clips: list[Clip]
) -> None:
    client = world.client("editor")
    page = client.get(f"/p/{world.project.code}/clips/edit/", {"day": "3"})
    assert page.status_code == 200
    assert page.content.decode().count('name="clips"') == 12
    Clip.objects.filter(pk=day_clips[0].pk).update(scene="42")
    response = client.post(
        f"/p/{world.project.code}/clips/edit/?day=3",
        {"scene": "42", "clips": [c.pk for c in day_clips]},
    )
    assert response.status_code == 302
    assert set(Clip.objects.filter(pk__in=[c.pk for c in day_clips]).values_list("scene", flat=True)) == {
        "42"
    }
    events = AuditEvent.objects.filter(action="clip.update").order_by("id")
    assert events.count() == 11  # the clip already at 42 is left alone
    assert all(e.before == {"scene": ""} and e.after == {"scene": "42"} for e in events)
    assert {e.actor_name for e in events} == {"editor"}
    assert Clip.objects.get(pk=world.clip.pk).scene == "42"  # fixture's own value, not touched


def test_bulk_edit_refuses_clips_of_another_project(world: World, day_clips: list[Clip]) -> None:
    response = world.client("editor").post(
        f"/p/{world.project.code}/clips/edit/",
        {"scene": "9", "clips": [day_clips[0].pk, world.other_clip.pk]},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not AuditEvent.objects.filter(action="clip.update").exists()
    assert Clip.objects.get(pk=world.other_clip.pk).scene == "42"


def test_single_clip_edit_page(world: World, day_clips: list[Clip]) -> None:
    clip = day_clips[0]
    client = world.client("dit")
    page = client.get(f"/clips/{clip.pk}/edit/")
    assert page.status_code == 200 and f"/clips/{clip.pk}/thumbnail/" in page.content.decode()
    response = client.post(
        f"/clips/{clip.pk}/edit/",
        {
            "scene": "7",
            "take": "2",
            "cast": "Ava Stone, Ben Ode",
            "start_tc": "12:01:00:00",
            "camera": "D",
            "reel": "D001",
        },
    )
    assert response.status_code == 302
    clip.refresh_from_db()
    assert (clip.scene, clip.take, clip.cast) == ("7", "2", ["Ava Stone", "Ben Ode"])
    event = AuditEvent.objects.get(action="clip.update")
    assert event.before == {"scene": "", "take": "", "cast": []}
    assert event.after == {"scene": "7", "take": "2", "cast": ["Ava Stone", "Ben Ode"]}
    bad = client.post(f"/clips/{clip.pk}/edit/", {"start_tc": "12:01:00:30", "camera": "D", "reel": "D001"})
    assert bad.status_code == 200
    assert "frames must be &lt; 24 at 24 fps" in bad.content.decode()
    clip.refresh_from_db()
    assert clip.start_tc == "12:01:00:00" and clip.scene == "7"


def test_review_queue_lists_filters_fixes_and_waives(world: World, day_clips: list[Clip]) -> None:
    ingest_rules_update(
        actor=None, project=world.project, required_fields=["scene"], allowed_values={"camera": ["A", "B"]}
    )
    client = world.client("dit")
    page = client.get(f"/p/{world.project.code}/review/", {"kind": "required", "day": "3"})
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 12
    all_open = client.get(f"/p/{world.project.code}/review/")
    # Scene missing on 12 clips, camera D not allowed on 12; the fixture's clip (A, scene 42) is fine.
    assert all_open.context["page"].paginator.count == 24
    item = ReviewItem.objects.get(clip=day_clips[0], kind="required")
    fixed = client.post(
        f"/review/{item.pk}/fix/", {"value": "42", "next": f"/p/{world.project.code}/review/"}
    )
    assert fixed.status_code == 302 and fixed["Location"] == f"/p/{world.project.code}/review/"
    item.refresh_from_db()
    assert (item.state, item.resolved_by) == (ReviewItem.State.FIXED, world.users["dit"])
    assert Clip.objects.get(pk=day_clips[0].pk).scene == "42"
    camera_item = ReviewItem.objects.get(clip=day_clips[1], kind="allowed")
    still = client.post(f"/review/{camera_item.pk}/fix/", {"value": "C"})
    assert still.status_code == 302
    camera_item.refresh_from_db()
    assert camera_item.state == ReviewItem.State.OPEN
    assert Clip.objects.get(pk=day_clips[1].pk).camera == "D"  # the failed fix was rolled back
    no_reason = client.post(f"/review/{camera_item.pk}/waive/", {"reason": "  "})
    assert no_reason.status_code == 302
    camera_item.refresh_from_db()
    assert camera_item.state == ReviewItem.State.OPEN
    client.post(f"/review/{camera_item.pk}/waive/", {"reason": "D camera rented for the day"})
    camera_item.refresh_from_db()
    assert (camera_item.state, camera_item.waiver_reason) == (
        ReviewItem.State.WAIVED,
        "D camera rented for the day",
    )
    waived = client.get(f"/p/{world.project.code}/review/", {"state": "waived"})
    assert "D camera rented for the day" in waived.content.decode()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="review.").order_by("id")] == [
        "review.fix",
        "review.waive",
    ]


def test_review_queue_page_query_count_does_not_grow_with_items(world: World, day_clips: list[Clip]) -> None:
    ingest_rules_update(actor=None, project=world.project, required_fields=["scene", "take", "lens"])
    client = world.client("dit")
    client.get(f"/p/{world.project.code}/review/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/p/{world.project.code}/review/", {"kind": "required", "q": "D001C001"})
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/p/{world.project.code}/review/", {"kind": "required"})
    assert response.context["page"].paginator.count == 12 * 3 + 1  # the fixture's clip has no lens
    assert len(many) == len(few)


def test_rules_page_saves_a_naming_schema_and_the_queue_follows(world: World, day_clips: list[Clip]) -> None:
    client = world.client("dit")
    response = client.post(
        f"/p/{world.project.code}/rules/",
        {
            "naming_pattern": "{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}",
            "required_fields": ["scene", "take"],
            "allowed_values": "camera: A, B, D",
            "known_cameras": "A, B, D",
            "camera_rules": '{"D": {"fps": "24"}}',
        },
    )
    assert response.status_code == 302
    rules = IngestRules.objects.get(project=world.project)
    assert rules.naming_pattern == "{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}"
    assert rules.camera_rules == {"D": {"fps": "24"}}
    assert ReviewItem.objects.filter(kind="required", state="open").count() == 24
    event = AuditEvent.objects.get(action="ingest_rules.update")
    assert event.after["required_fields"] == ["scene", "take"] and event.before is None
    bad = client.post(f"/p/{world.project.code}/rules/", {"naming_pattern": "{camera}{roll}{clip}"})
    assert bad.status_code == 200
    assert "has no fixed width and is followed by" in bad.content.decode()
    assert AuditEvent.objects.filter(action="ingest_rules.update").count() == 1


def test_thumbnail_is_served_or_a_placeholder(
    world: World, day_clips: list[Clip], tmp_path: Path, settings: object
) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    clip = day_clips[0]
    response = world.client("viewer").get(f"/clips/{clip.pk}/thumbnail/")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    target = tmp_path / "thumbs" / "FILM" / f"{clip.pk}.jpg"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\xff\xd8\xff\xe0fakejpeg")
    response = world.client("viewer").get(f"/clips/{clip.pk}/thumbnail/")
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == b"\xff\xd8\xff\xe0fakejpeg"  # type: ignore[attr-defined]
    assert world.client("outsider").get(f"/clips/{clip.pk}/thumbnail/").status_code == 404


def test_camera_settings_are_edited_on_the_clip_page_and_the_history_reads_before_and_after(
    world: World, day_clips: list[Clip]
) -> None:
    clip = day_clips[0]
    Clip.objects.filter(pk=clip.pk).update(white_balance_k=5600, shutter="180°", iris="T2.8")
    client = world.client("dit")
    page = client.get(f"/clips/{clip.pk}/edit/").content.decode()
    assert 'name="white_balance_k" value="5600"' in page and "Look / LUT" in page
    fields = {"camera": "D", "reel": "D001", "start_tc": "12:01:00:00", "iris": "T2.8"}
    camera = {
        "iso": "1280",
        "white_balance_k": "3200",
        "shutter": "172.8°",
        "focal_length_mm": "35",
        "sensor_fps": "48",
        "look": "ARRI LogC4 to Rec709",
    }
    assert client.post(f"/clips/{clip.pk}/edit/", {**fields, **camera}).status_code == 302
    clip.refresh_from_db()
    assert (clip.iso, clip.white_balance_k, clip.shutter, clip.iris) == (1280, 3200, "172.8°", "T2.8")
    assert (clip.focal_length_mm, clip.sensor_fps, clip.look) == (
        Decimal("35.0"),
        Decimal("48.000"),
        "ARRI LogC4 to Rec709",
    )
    event = AuditEvent.objects.get(action="clip.update")
    assert event.before["white_balance_k"] == 5600 and event.after["white_balance_k"] == 3200
    assert event.before["shutter"] == "180°" and "iris" not in event.after  # unchanged: not recorded
    history = world.client("dit").get(f"/clips/{clip.pk}/").content.decode()
    assert "<li>White balance: 5600 → 3200</li>" in history
    assert "<li>Shutter: 180° → 172.8°</li>" in history and "<li>Focal length: — → 35.0</li>" in history
    for field, value, error in [
        ("shutter", "fast", "is not a shutter"),
        ("iris", "wide open", "is not an aperture"),
        ("white_balance_k", "90000", "less than or equal to 20000"),
    ]:
        bad = client.post(f"/clips/{clip.pk}/edit/", {**fields, **camera, field: value})
        assert bad.status_code == 200 and error in bad.content.decode()
    clip.refresh_from_db()
    assert (clip.shutter, clip.white_balance_k) == ("172.8°", 3200)
    assert AuditEvent.objects.filter(action="clip.update").count() == 1


def test_bulk_edit_sets_camera_settings_and_leaves_empty_ones_alone(
    world: World, day_clips: list[Clip]
) -> None:
    Clip.objects.filter(pk__in=[c.pk for c in day_clips]).update(look="Show LUT v1", iris="T4")
    client = world.client("editor")
    response = client.post(
        f"/p/{world.project.code}/clips/edit/?day=3",
        {"iso": "800", "look": "Show LUT v2", "clips": [c.pk for c in day_clips[:3]]},
    )
    assert response.status_code == 302
    stored = Clip.objects.filter(pk__in=[c.pk for c in day_clips[:3]])
    assert {(c.iso, c.look, c.iris) for c in stored} == {(800, "Show LUT v2", "T4")}
    events = AuditEvent.objects.filter(action="clip.update")
    assert events.count() == 3
    assert all(e.before == {"iso": None, "look": "Show LUT v1"} for e in events)
    bad = client.post(
        f"/p/{world.project.code}/clips/edit/?day=3", {"shutter": "1/0x", "clips": [day_clips[0].pk]}
    )
    assert bad.status_code == 200 and "is not a shutter" in bad.content.decode()
