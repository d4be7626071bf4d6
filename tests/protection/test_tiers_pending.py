"""Files waiting in a replication job show as pending wherever tiers are shown, then as reached."""

from __future__ import annotations

import re
from pathlib import Path

from catalog.models import Copy, Volume
from protection.models import ReplicationJob
from tests.fixtures import World
from tests.protection.conftest import Workers, build_footage, wait_for


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _tiers_everywhere(world: World, clip_id: int, card_id: int) -> dict[str, str]:
    """The tiers text of the clip page, the card page, the day page and the producer's day row."""
    client = world.client("producer")
    clip = _text(client.get(f"/clips/{clip_id}/").content.decode())
    card = _text(client.get(f"/volumes/{card_id}/").content.decode())
    day = _text(client.get("/p/FILM/days/1/?unit=main").content.decode())
    overview = client.get("/p/FILM/dashboard/").content.decode()
    row = re.search(r'<tr class="state-\w+" data-day="1">(.*?)</tr>', overview, re.S)
    assert row, overview
    return {
        "clip": clip.split("Tiers reached", 1)[1].split("Still missing", 1)[0],
        "card": card.split("Tiers reached", 1)[1].split("Shoot day", 1)[0],
        "day": day.split("Tiers reached:", 1)[1][:200],
        "day row": _text(row.group(1)),
    }


def test_queued_replications_show_as_pending_then_reached_on_every_page(
    world: World, workers: Workers, tmp_path: Path
) -> None:
    footage = build_footage(world, tmp_path / "media", host=workers.host)
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    clip = footage.clips[0]  # two files

    # Requested while no worker runs: the job waits, and no copy row exists on the LTO yet.
    response = world.client("dit").post(
        "/api/replications/", {"project": "FILM", "card": "A001"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert ReplicationJob.objects.get().state == ReplicationJob.State.QUEUED
    assert not Copy.objects.filter(volume=lto).exists()
    waiting = _tiers_everywhere(world, clip.pk, footage.card.pk)
    for page, text in waiting.items():
        assert "RAID ✓" in text, (page, text)
        assert "LTO pending" in text, (page, text)

    workers.start()
    wait_for(
        lambda: ReplicationJob.objects.get().state == ReplicationJob.State.VERIFIED,
        timeout=90,
        message=workers.logs(),
    )
    done = _tiers_everywhere(world, clip.pk, footage.card.pk)
    for page, text in done.items():
        assert "LTO ✓" in text and "pending" not in text, (page, text)
