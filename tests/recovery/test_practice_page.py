"""The practice scenarios page: state, time to recover, who fixed it, and the admins' reset."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import xxhash
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import AuditEvent, Copy, Membership
from catalog.permissions import RoleName
from catalog.services import volume_update
from custody.models import Handoff
from recovery.models import PracticeScenario
from reelvault.management.commands.seed_demo import demo_content
from tests.fixtures import UserFactory, ensure_roles


def seed(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_DEMO_PASSWORD = "practice-password-for-tests"
    call_command("seed_practice", "--clips", "4", stdout=StringIO())


def client(username: str) -> Client:
    browser = Client()
    browser.force_login(get_user_model().objects.get(username=username))
    return browser


def mend_the_copy(scenario: PracticeScenario) -> None:
    """What the trainee does: good bytes back on the shuttle, proven again by a check."""
    assert scenario.media_file is not None
    copy = Copy.objects.get(media_file=scenario.media_file, volume=scenario.volume)
    good = demo_content(scenario.media_file.clip.name if scenario.media_file.clip else "")
    (Path(scenario.volume.location) / copy.path).write_bytes(good)
    check = CopyCheck(
        media_file=scenario.media_file,
        path=copy.path,
        found=Found.PROVEN,
        hash_found=xxhash.xxh3_128(good).hexdigest(),
    )
    copies_record(actor=None, volume=scenario.volume, checks=[check], source="trainee")


def test_the_page_shows_broken_being_fixed_and_fixed_with_time_and_who(
    db: None, settings: Any, tmp_path: Path
) -> None:
    seed(settings, tmp_path)
    page = client("viewer").get("/p/PRACTICE/practice/").content.decode()
    assert page.count(">broken<") == 3 and "Reset scenario" not in page
    assert "Restore the file from another copy onto the shuttle and re-verify it." in page
    corrupt = PracticeScenario.objects.select_related("volume", "media_file").get(kind="corrupt_copy")
    # The DIT starts an audit of the shuttle: somebody is on it.
    response = client("dit").post(f"/api/volumes/{corrupt.volume_id}/audit/", {"full": True})
    assert response.status_code in (201, 202), response.content
    page = client("viewer").get("/p/PRACTICE/practice/").content.decode()
    assert page.count(">broken<") == 2 and ">being fixed<" in page
    assert 'Working on it</dt><dd class="people">dit' in page
    mend_the_copy(corrupt)
    page = client("viewer").get("/p/PRACTICE/practice/").content.decode()
    assert ">fixed<" in page and "Recovery took" in page
    assert 'Fixed by</dt><dd class="people">dit</dd>' in page
    corrupt.refresh_from_db()
    assert corrupt.recovered_at is not None and corrupt.recovered_by == "dit"
    assert AuditEvent.objects.get(action="practice.recovered").after["by"] == "dit"


def test_an_admin_resets_a_fixed_scenario_and_trainees_practise_again(
    db: None, settings: Any, tmp_path: Path
) -> None:
    seed(settings, tmp_path)
    corrupt = PracticeScenario.objects.select_related("volume", "media_file").get(kind="corrupt_copy")
    mend_the_copy(corrupt)
    shuttle = PracticeScenario.objects.select_related("volume").get(kind="missing_shuttle")
    handoff = Handoff.objects.get(volume=shuttle.volume, state="in_transit")
    assert client("dit").post(f"/api/handoffs/{handoff.pk}/receive/", {"seals_found": []}).status_code == 200
    volume_update(actor=None, volume=shuttle.volume, changes={"online": True})
    admin = client("admin")
    assert admin.get("/p/PRACTICE/practice/").content.decode().count(">fixed<") == 2
    for scenario in (corrupt, shuttle):
        response = admin.post(f"/practice/{scenario.pk}/reset/")
        assert response.status_code == 302 and response["Location"] == "/p/PRACTICE/practice/"
    # Broken again, for real: the copy is corrupt on disk and in the catalog, the shuttle in transit.
    corrupt.refresh_from_db()
    copy = Copy.objects.get(media_file=corrupt.media_file, volume=corrupt.volume)
    good = demo_content(
        corrupt.media_file.clip.name if corrupt.media_file and corrupt.media_file.clip else ""
    )
    assert copy.state == "corrupt" and (Path(corrupt.volume.location) / copy.path).read_bytes() != good
    assert (corrupt.recovered_at, corrupt.recovered_by, corrupt.resets) == (None, "", 1)
    shuttle.volume.refresh_from_db()
    assert not shuttle.volume.online
    assert Handoff.objects.filter(volume=shuttle.volume, state="in_transit").count() == 1
    resets = AuditEvent.objects.filter(action="practice.reset").order_by("pk")
    assert [(e.actor_name, e.after["kind"]) for e in resets] == [
        ("admin", "corrupt_copy"),
        ("admin", "missing_shuttle"),
    ]
    assert resets[0].before["seconds"] is not None and resets[0].before["recovered_by"] == ""
    page = admin.get("/p/PRACTICE/practice/").content.decode()
    assert page.count(">broken<") == 3 and page.count("(reset 1 time)") == 2
    # Mended again: the new time runs from the reset.
    mend_the_copy(corrupt)
    admin.get("/p/PRACTICE/practice/")
    corrupt.refresh_from_db()
    assert corrupt.recovered_at is not None and corrupt.recovered_at >= corrupt.broken_at


def test_role_matrix_of_the_practice_page_and_its_reset(db: None, settings: Any, tmp_path: Path) -> None:
    seed(settings, tmp_path)
    ensure_roles()
    for role in (RoleName.COLORIST, RoleName.VFX, RoleName.IT_SUPPORT):
        user = UserFactory(username=f"practice-{role.value}")
        Membership.objects.create(
            user=user, project_id=PracticeScenario.objects.first().project_id, role_id=role.value
        )
    UserFactory(username="stranger")
    scenario = PracticeScenario.objects.get(kind="failed_drive")
    people = [
        "producer",
        "editor",
        "dit",
        "viewer",
        "practice-colorist",
        "practice-vfx",
        "practice-it_support",
    ]
    for username in people:
        browser = client(username)
        assert browser.get("/p/PRACTICE/practice/").status_code == 200, username
        assert browser.post(f"/practice/{scenario.pk}/reset/").status_code == 403, username
    refused = AuditEvent.objects.filter(action="practice.reset_refused")
    assert sorted(refused.values_list("actor_name", flat=True)) == sorted(people)
    stranger = client("stranger")
    assert stranger.get("/p/PRACTICE/practice/").status_code == 404
    assert stranger.post(f"/practice/{scenario.pk}/reset/").status_code == 404
    assert client("admin").post("/practice/99999/reset/").status_code == 404
    assert not AuditEvent.objects.filter(action="practice.reset").exists()
    assert client("admin").post(f"/practice/{scenario.pk}/reset/").status_code == 302
    assert AuditEvent.objects.filter(action="practice.reset", actor_name="admin").count() == 1
    assert Client().get("/p/PRACTICE/practice/").status_code == 302  # to the login page
