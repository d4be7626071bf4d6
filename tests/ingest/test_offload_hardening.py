"""Hardening of offload creation (issue 12): one active job per card, labels and paths refused with 400.

Concurrent requests go through the API in threads, each with its own
database connection, released together by a barrier: the race is real.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from catalog.models import Volume
from ingest.models import OffloadJob
from tests.fixtures import World
from tests.ingest.conftest import write_card


@pytest.fixture
def cards(world: World, tmp_path: Path, settings: Any) -> Path:
    host = settings.REELVAULT_HOSTNAME = f"race-{uuid.uuid4().hex[:8]}"  # a queue nobody consumes
    root = tmp_path / "cards"
    for label in ("A010", "A011"):
        write_card(root / label, {f"{label}C001_261102_R1AB.mov": b"x" * 1000})
    (tmp_path / "raid").mkdir()
    Volume.objects.create(
        project=world.project,
        label="RAID-Z",
        kind=Volume.Kind.RAID,
        location=str(tmp_path / "raid"),
        host=host,
    )
    return root


def _race(world: World, cards: Path, label: str, n: int = 4) -> list[Any]:
    """n DITs ask to offload one card at the same moment; return their responses."""
    barrier = threading.Barrier(n)
    responses: list[Any] = [None] * n

    def post(index: int) -> None:
        try:
            client = world.client("dit")
            barrier.wait()
            responses[index] = client.post(
                "/api/offloads/",
                {"project": "FILM", "source": str(cards / label), "destinations": ["RAID-Z"]},
                format="json",
            )
        finally:
            connection.close()

    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return responses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known_card", [False, True], ids=["new label", "registered card"])
def test_four_simultaneous_offloads_of_one_card_make_one_job(
    world: World, cards: Path, known_card: bool
) -> None:
    if known_card:
        Volume.objects.create(
            project=world.project, label="A010", kind=Volume.Kind.CARD, location=str(cards / "A010"), host="h"
        )
    responses = _race(world, cards, "A010")
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], [r.content for r in responses]
    (job,) = OffloadJob.objects.filter(label="A010")
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["job"] == job.pk
            assert body["url"].endswith(f"/api/offloads/{job.pk}/")
            assert body["page"].endswith(f"/offloads/{job.pk}/")
            assert "already being offloaded" in body["detail"]
    assert Volume.objects.filter(project=world.project, label__iexact="A010").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_page_and_the_command_explain_a_busy_card(world: World, cards: Path) -> None:
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        first = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A011"), "destinations": ["RAID-Z"]},
            format="json",
        )
        assert first.status_code == 201
        job_id = first.json()["id"]
        dest = Volume.objects.get(label="RAID-Z")
        page = world.client("dit").post(
            "/p/FILM/offloads/new/", {"source": str(cards / "A011"), "destinations": [dest.pk]}, follow=True
        )
    assert page.status_code == 200
    assert page.redirect_chain[-1][0] == f"/offloads/{job_id}/"
    assert "already being offloaded" in page.content.decode()
    with pytest.raises(CommandError, match=f"already being offloaded \\(job {job_id}"):
        call_command("offload", project="FILM", source=cards / "A011", dest=["RAID-Z"])
    assert OffloadJob.objects.filter(label="A011").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "A0\n01", "control character"),
        ("label", "../../etc", "path separator"),
        ("label", "a\\b", "path separator"),
        ("label", "X" * 65, "at most 64"),
        ("label", "..", "path separator|cannot be"),
        ("source", "relative/card", "absolute"),
        ("source", "/cards/../etc", ". or .."),
        ("source", "/cards/A\x00", "control character"),
        ("destinations", "RAID\tZ", "control character"),
    ],
)
def test_bad_labels_and_paths_are_refused_with_400_naming_the_field(
    world: World, cards: Path, field: str, value: str, message: str
) -> None:
    body: dict[str, Any] = {"project": "FILM", "source": str(cards / "A010"), "destinations": ["RAID-Z"]}
    body[field] = [value] if field == "destinations" else value
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post("/api/offloads/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    if "\x00" in value:
        # A NUL byte is refused for the whole request before any field is read (reelvault/middleware.py).
        assert "NUL byte" in errors["detail"], errors
    else:
        assert field in errors, errors
        assert __import__("re").search(message, str(errors[field])), errors
    assert not OffloadJob.objects.exists()


@pytest.mark.django_db
def test_a_card_folder_whose_name_cannot_be_a_label_asks_for_one(world: World, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write_card(cards / "A0\n12", {"A012C001.mov": b"x"})
    (tmp_path / "raid").mkdir()
    Volume.objects.create(
        project=world.project, label="RAID-Z", kind=Volume.Kind.RAID, location=str(tmp_path / "raid")
    )
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A0\n12"), "destinations": ["RAID-Z"]},
            format="json",
        )
    # The path itself is refused before the label is derived from it.
    assert response.status_code == 400 and "source" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"label": "EVIL", "location": "/srv/../etc"}, "location", ". or .."),
        ({"label": "EVIL", "location": "srv/raid"}, "location", "absolute"),
        ({"label": "EV\nIL", "location": "/srv/raid9"}, "label", "control character"),
        ({"label": "EV/IL", "location": "/srv/raid9"}, "label", "path separator"),
    ],
)
def test_a_volume_with_a_bad_location_or_label_is_refused(
    world: World, body: dict[str, str], field: str, message: str
) -> None:
    response = world.client("dit").post(
        "/api/volumes/", {"project": "FILM", "kind": "raid", **body}, format="json"
    )
    assert response.status_code == 400, response.content
    assert message in str(response.json()[field]), response.json()
    assert not Volume.objects.filter(label__in=["EVIL", "EV\nIL", "EV/IL"]).exists()


@pytest.mark.django_db
def test_an_offload_never_writes_to_a_volume_outside_the_roots(
    world: World, cards: Path, settings: Any
) -> None:
    # The volume's row says /etc (changed behind the API's back).
    Volume.objects.filter(label="RAID-Z").update(location="/etc")
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(cards / "A010"), "destinations": ["RAID-Z"]},
            format="json",
        )
    assert response.status_code == 400
    assert "outside this host's volume roots" in str(response.json()["detail"])
    assert not Path("/etc/A010").exists()
