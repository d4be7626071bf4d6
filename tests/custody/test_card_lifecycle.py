"""A camera card's page: its offloads, safe to format, its day's sign-off, the DIT's format confirmation."""

from __future__ import annotations

import contextlib
import io
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from catalog.models import AuditEvent, ShootDay, Volume
from custody.models import CardFormat
from tests.fixtures import PERSONAS, World
from tests.ingest.conftest import write_card

CARD = {"A001C001_261102_R1AB.mov": b"a" * 40_000, "A001C002_261102_R1AB.mov": b"b" * 30_000}


def _offload(card: Path, *dests: Path, label: str | None = None, day: bool = True) -> None:
    args = ["--project", "FILM", "--source", str(card), "--json", *(["--day", "1"] if day else [])]
    for dest in dests:
        args += ["--dest", str(dest)]
    if label:
        args += ["--label", label]
    with contextlib.suppress(SystemExit):  # a non-zero exit reports problems; the run is checked below
        call_command("offload", *args, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def offloaded(world: World, tmp_path: Path) -> tuple[Volume, Path]:
    """Card A001 offloaded to two RAIDs; the policy asks for two copies on one kind of media."""
    project = world.project
    project.required_copies, project.required_media_kinds, project.required_offsite = 2, 1, 0
    project.save()
    ShootDay.objects.create(project=project, number=1, date="2026-11-02")
    cards = tmp_path / "cards"
    card = write_card(cards / "A001", CARD)
    _offload(card, tmp_path / "raid1", tmp_path / "raid2")
    return Volume.objects.get(project=project, label="A001"), cards


def _page(world: World, persona: str, card: Volume) -> str:
    return unescape(world.client(persona).get(f"/volumes/{card.pk}/").content.decode())


def test_the_card_page_shows_offloads_safety_day_and_the_format_confirmation(
    world: World, offloaded: tuple[Volume, Path]
) -> None:
    card, _ = offloaded
    page = _page(world, "viewer", card)
    assert "Card lifecycle" in page
    assert 'Safe to format</dt><dd><span class="ok">yes</span>' in page
    assert 'day 1: <span class="warn">not signed off</span>' in page
    assert "RAID1, RAID2" in page and 'completed, <span class="ok">safe to format</span>' in page
    assert "Formatted</dt><dd>not yet" in page
    assert "Confirm formatted and returned to camera" not in page  # a viewer cannot record it

    response = world.client("dit").post(f"/volumes/{card.pk}/formatted/", {"camera": "A", "note": "clean"})

    assert response.status_code == 302
    confirmation = CardFormat.objects.get()
    assert (confirmation.camera, confirmation.files, confirmation.formatted_by) == (
        "A",
        2,
        world.users["dit"],
    )
    event = AuditEvent.objects.get(action="card.formatted")
    assert event.object_id == str(card.pk) and event.after["camera"] == "A"
    card.refresh_from_db()
    assert not card.online  # back in a camera: no restore reads it
    page = _page(world, "dit", card)
    assert "by dit, back to camera A (clean)" in page
    assert "Confirm formatted and returned to camera" not in page

    again = world.client("dit").post(f"/volumes/{card.pk}/formatted/", {}, follow=True)
    assert "already confirmed formatted" in unescape(again.content.decode())
    assert CardFormat.objects.count() == 1


def test_a_card_not_safe_to_format_cannot_be_recorded_as_formatted(world: World, tmp_path: Path) -> None:
    card = write_card(tmp_path / "cards" / "B001", CARD)
    _offload(card, tmp_path / "raid1", day=False)  # one copy; the default policy wants more

    volume = Volume.objects.get(label="B001")
    assert 'Safe to format</dt><dd><span class="bad">no</span>' in _page(world, "dit", volume)
    response = world.client("dit").post(f"/volumes/{volume.pk}/formatted/", {}, follow=True)

    assert "card B001 is not safe to format" in unescape(response.content.decode())
    assert not CardFormat.objects.exists()
    assert not AuditEvent.objects.filter(action="card.formatted").exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_recording_a_format_needs_a_dit_or_admin(
    world: World, offloaded: tuple[Volume, Path], persona: str
) -> None:
    card, _ = offloaded
    response = world.client(persona).post(f"/volumes/{card.pk}/formatted/", {})
    allowed = persona in ("admin", "dit")
    expected = 302 if allowed else 404 if persona == "outsider" else 403
    assert response.status_code == expected
    assert CardFormat.objects.exists() is allowed
    assert AuditEvent.objects.filter(action="card.formatted_refused").exists() is (expected == 403)


def test_the_offload_form_warns_about_a_card_offloaded_and_not_formatted(
    world: World, offloaded: tuple[Volume, Path]
) -> None:
    card, cards = offloaded
    write_card(cards / "A002", {"A002C001_261102_R1AB.mov": b"c" * 1000})
    dit = world.client("dit")
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        page = unescape(dit.get("/p/FILM/offloads/new/").content.decode())
        assert f"A001  ({cards / 'A001'}) — already offloaded" in page
        assert "Careful: card A001 was already offloaded on" in page
        assert f"A002  ({cards / 'A002'})<" in page  # a new card: no warning

        dit.post(f"/volumes/{card.pk}/formatted/", {"camera": "A"})
        page = unescape(dit.get("/p/FILM/offloads/new/").content.decode())
    assert "already offloaded" not in page


def test_a_second_offload_of_the_same_content_is_found_by_hash(
    world: World, offloaded: tuple[Volume, Path], tmp_path: Path
) -> None:
    card, cards = offloaded
    # The same card inserted again and named differently by mistake.
    _offload(cards / "A001", tmp_path / "raid1", tmp_path / "raid2", label="A001B")

    second = Volume.objects.get(label="A001B")
    page = _page(world, "viewer", second)
    assert (
        f'2 files also offloaded as card <a href="/volumes/{card.pk}/">A001</a> (same hash): '
        "a second offload of the same card" in page
    )
    assert f'also offloaded as card <a href="/volumes/{second.pk}/">A001B</a>' in _page(world, "viewer", card)
