"""The ALE/CSV API (import preview/apply, export) and the clip edit API, checked against the database."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import AuditEvent, Clip
from tests.fixtures import World
from tests.metadata.test_ale_command import ale


def post_import(world: World, persona: str, name: str, data: bytes, **extra: Any) -> Any:
    return world.client(persona).post(
        "/api/ale-imports/",
        {"project": "FILM", "file": SimpleUploadedFile(name, data), **extra},
        format="multipart",
    )


def test_import_preview_then_apply_with_the_previewed_digest(world: World) -> None:
    data = ale(["Name", "Scene", "Take"], [[world.clip.name, "43", "2"]]).encode()
    preview = post_import(world, "editor", "a.ale", data)
    assert preview.status_code == 200
    body = preview.json()
    assert body["applied"] is False and body["columns"] == ["Name", "Scene", "Take"]
    assert body["matched"][0]["changes"] == {
        "scene": {"before": "42", "after": "43"},
        "take": {"before": "1", "after": "2"},
    }
    Clip.objects.filter(pk=world.clip.pk).update(take="5")  # the catalog moves on after the preview
    stale = post_import(world, "editor", "a.ale", data, apply="true", digest=body["digest"])
    assert stale.status_code == 400
    assert stale.json()["errors"][0]["message"].startswith("the catalog changed since the preview")
    assert Clip.objects.get(pk=world.clip.pk).scene == "42"
    fresh = post_import(world, "editor", "a.ale", data).json()
    applied = post_import(world, "editor", "a.ale", data, apply="true", digest=fresh["digest"])
    assert applied.status_code == 200 and applied.json()["applied"] is True
    world.clip.refresh_from_db()
    assert (world.clip.scene, world.clip.take) == ("43", "2")
    event = AuditEvent.objects.get(action="clip.ale_import")
    assert (event.before, event.after) == ({"scene": "42", "take": "5"}, {"scene": "43", "take": "2"})
    assert event.actor_name == "editor" and event.source.startswith("ip:")


def test_import_errors_come_back_as_400_with_lines_and_nothing_applied(world: World) -> None:
    data = ale(["Name", "Scene"], [[world.clip.name, "43"]]).split("Data")[0].encode()  # cut short
    response = post_import(world, "dit", "broken.ale", data, apply="true")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": None,
            "message": "no Data section (the file ends before the 'Data' line; it may be truncated. "
            "Re-export it)",
        }
    ]
    assert Clip.objects.get(pk=world.clip.pk).scene == "42"
    assert not AuditEvent.objects.filter(action__in=["clip.ale_import", "ale.import"]).exists()


def test_csv_import_with_semicolons_and_latin_1(world: World) -> None:
    data = f"Name;Scene;Location\r\n{world.clip.name};44;Caf\xe9\r\n".encode("latin-1")
    response = post_import(world, "editor", "log.csv", data, apply="true")
    assert response.status_code == 200, response.json()
    assert response.json()["encoding"] == "latin-1"
    world.clip.refresh_from_db()
    assert (world.clip.scene, world.clip.location) == ("44", "Café")


def test_export_api_downloads_an_ale_of_the_project(world: World) -> None:
    response = world.client("producer").get("/api/ale-exports/", {"project": "FILM", "type": "ale"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="FILM.ale"'
    text = response.content.decode()
    assert text.startswith("Heading\r\nFIELD_DELIM\tTABS\r\n") and world.clip.name in text
    assert world.other_clip.name not in text
    missing = world.client("producer").get("/api/ale-exports/", {"project": "FILM", "card": "NOPE"})
    assert missing.status_code == 400
    csv = world.client("producer").get("/api/ale-exports/", {"project": "FILM", "type": "csv"})
    assert csv["Content-Disposition"] == 'attachment; filename="FILM.csv"'
    assert csv.content.startswith(b"\xef\xbb\xbfName,Source File,Start")


def test_clip_edits_api_is_all_or_nothing(world: World) -> None:
    other = Clip.objects.create(project=world.project, name="Z001C001_261102_R1AB")
    response = world.client("editor").post(
        "/api/clip-edits/",
        {"project": "FILM", "clips": [world.clip.pk, other.pk], "changes": {"scene": "7", "take": "x" * 17}},
        format="json",
    )
    assert response.status_code == 400
    assert "take" in response.json()
    assert Clip.objects.get(pk=world.clip.pk).scene == "42"
    not_editable = world.client("editor").post(
        "/api/clip-edits/",
        {"project": "FILM", "clips": [other.pk], "changes": {"codec": "H.264"}},
        format="json",
    )
    assert not_editable.status_code == 400
    assert "cannot be edited: codec" in not_editable.json()["detail"]
    ok = world.client("editor").post(
        "/api/clip-edits/",
        {"project": "FILM", "clips": [world.clip.pk, other.pk], "changes": {"scene": "7"}},
        format="json",
    )
    assert ok.status_code == 200
    assert sorted(ok.json()["changed"]) == sorted([world.clip.pk, other.pk]) and ok.json()["unchanged"] == []
    assert set(Clip.objects.filter(pk__in=[world.clip.pk, other.pk]).values_list("scene", flat=True)) == {"7"}


def test_patching_a_clip_with_a_bad_timecode_is_a_400_that_stores_nothing(world: World) -> None:
    audit_before = AuditEvent.objects.count()
    response = world.client("editor").patch(
        f"/api/clips/{world.clip.pk}/", {"start_tc": "99:99:99:99", "scene": "43"}, format="json"
    )
    assert response.status_code == 400
    assert "start_tc" in response.json()
    stored = Clip.objects.get(pk=world.clip.pk)
    assert (stored.start_tc, stored.scene) == (world.clip.start_tc, "42")
    assert AuditEvent.objects.count() == audit_before


def test_patching_a_clip_is_the_same_edit_as_the_clip_edits_api(world: World) -> None:
    response = world.client("dit").patch(
        f"/api/clips/{world.clip.pk}/", {"cast": ["Ana", " Bo "], "start_tc": "01:00:00:00"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["cast"], body["start_tc"], body["project"]) == (["Ana", "Bo"], "01:00:00:00", "FILM")
    stored = Clip.objects.get(pk=world.clip.pk)
    assert (stored.cast, stored.start_tc) == (["Ana", "Bo"], "01:00:00:00")
    event = AuditEvent.objects.get(action="clip.update")
    assert event.after == {"cast": ["Ana", "Bo"], "start_tc": "01:00:00:00"}


def test_camera_settings_are_edited_through_the_api_with_validation(world: World) -> None:
    client = world.client("editor")
    response = client.patch(
        f"/api/clips/{world.clip.pk}/",
        {"iso": 800, "iris": "F5.6", "shutter": "1/50", "sensor_fps": "50", "look": "Rec709"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["iso"], body["iris"], body["shutter"], body["sensor_fps"], body["look"]) == (
        800,
        "F5.6",
        "1/50",
        "50.000",
        "Rec709",
    )
    event = AuditEvent.objects.get(action="clip.update")
    assert event.before == {"iso": None, "iris": "", "shutter": "", "sensor_fps": None, "look": ""}
    bad = client.patch(f"/api/clips/{world.clip.pk}/", {"iris": "open", "iso": 1600}, format="json")
    assert bad.status_code == 400 and "iris" in bad.json()
    assert Clip.objects.get(pk=world.clip.pk).iso == 800
    edits = client.post(
        "/api/clip-edits/",
        {"project": "FILM", "clips": [world.clip.pk], "changes": {"white_balance_k": "4300K"}},
        format="json",
    )
    assert edits.status_code == 200 and edits.json()["changed"] == [world.clip.pk]
    assert Clip.objects.get(pk=world.clip.pk).white_balance_k == 4300
    refused = client.post(
        "/api/clip-edits/",
        {"project": "FILM", "clips": [world.clip.pk], "changes": {"white_balance_k": 50}},
        format="json",
    )
    assert refused.status_code == 400 and "white_balance_k" in refused.json()
