"""Restores, handoffs and fixity audits join the timeline of the incident they belong to, by themselves.

Through the pages, the API and the commands people use; the after-commit hooks run
(``django_capture_on_commit_callbacks``) or, for a restore, a real worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from django.core.management import call_command

from alerts.models import Alert
from recovery.models import Incident, IncidentEvent
from tests.restore.conftest import Media, Workers, wait_for

Capture = Callable[..., AbstractContextManager[Any]]


def corrupt_on_raid(media: Media) -> None:
    path = media.copy_path(media.files[0], media.raid)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))


def fixity_audit(label: str) -> None:
    try:
        call_command("fixity_audit", f"FILM/{label}", "--full")
    except SystemExit:
        pass  # exits 1 when it finds a problem, which is the point here


def handoff(media: Media, volume_id: int, seal: str) -> int:
    response = media.world.client("dit").post(
        "/api/handoffs/",
        {"volume": volume_id, "from_place": "Cart", "to_user": "producer", "where": "Set", "seals": [seal]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def timeline(incident: Incident) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in IncidentEvent.objects.filter(incident=incident).order_by("at", "pk")]


def test_an_incident_from_an_alert_gathers_the_audit_the_restores_and_handoffs_of_its_volume(
    media: Media, django_capture_on_commit_callbacks: Capture
) -> None:
    corrupt_on_raid(media)
    with django_capture_on_commit_callbacks(execute=True):
        fixity_audit("RAID-A")
    alert = Alert.objects.get(kind="copy.corrupt")
    assert alert.key == f"copy.corrupt:volume:{media.raid.pk}"
    dit = media.world.client("dit")
    with django_capture_on_commit_callbacks(execute=True):
        assert dit.post(f"/alerts/{alert.pk}/incident/").status_code == 302
    incident = Incident.objects.get()
    assert list(incident.volumes.all()) == [media.raid]
    # The audit that found the corruption happened just before the alert: it is on the timeline.
    lines = timeline(incident)
    assert ("fixity", "Fixity audit of RAID-A finished: 2 copies proven, 1 corrupt copy") in lines
    # What happens next joins by itself: a restore of the damaged clip, a handoff of the RAID…
    with django_capture_on_commit_callbacks(execute=True):
        restore = media.world.client("editor").post(
            "/api/restores/",
            {"clips": [media.clips[0].pk], "target": "editorial", "reason": "RAID copy corrupt"},
            format="json",
        )
        assert restore.status_code == 201
        handoff(media, media.raid.pk, "9001")
    # …but not a handoff of a volume the incident does not involve.
    with django_capture_on_commit_callbacks(execute=True):
        handoff(media, media.shuttle.pk, "9002")
    lines = timeline(incident)
    restore_id = restore.json()["id"]
    assert ("restore", f"Restore {restore_id} requested by editor: 2 files (370.0 KB) to editorial") in lines
    assert ("custody", "RAID-A handed from Cart to producer, seals 9001") in lines
    assert not [text for _, text in lines if "SHUTTLE-A" in text]
    # One line per entry: the hook running twice adds nothing.
    from recovery.services import incident_timeline_follow

    added = IncidentEvent.objects.exclude(audit_event_id=None).first()
    assert added is not None and incident_timeline_follow(audit_event_id=added.audit_event_id) == 0
    page = media.world.client("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    assert f'href="/restores/{restore_id}/"' in page and "RAID-A handed from Cart to producer" in page
    assert "Fixity audit" in page and 'href="/fixity-runs/' in page
    # Once resolved, the incident's window is closed: a later audit of the RAID stays off it.
    dit.post(f"/incidents/{incident.pk}/resolve/", {"resolution": "restored from the shuttle"})
    count = len(timeline(incident))
    with django_capture_on_commit_callbacks(execute=True):
        fixity_audit("RAID-A")
    assert len(timeline(incident)) == count


def test_an_incident_by_hand_follows_the_volumes_and_days_people_say_it_involves(
    media: Media, django_capture_on_commit_callbacks: Capture
) -> None:
    dit = media.world.client("dit")
    with django_capture_on_commit_callbacks(execute=True):
        handoff_id = handoff(media, media.shuttle.pk, "7001")  # before the incident: looked back on
        dit.post("/p/FILM/incidents/", {"title": "Shuttle arrived wet", "cause": "shipping"})
    incident = Incident.objects.get()
    assert timeline(incident) == [("state", "Incident opened")]
    # The viewer cannot say which volumes are involved; the DIT can, and the handoff joins.
    viewer = media.world.client("viewer")
    refused = viewer.post(
        f"/incidents/{incident.pk}/impact/", {"volumes_shown": "1", "volumes": [media.shuttle.pk]}
    )
    assert refused.status_code == 403 and not incident.volumes.exists()
    form = {"volumes_shown": "1", "volumes": [media.shuttle.pk], "days_affected": "1", "clips_affected": "0"}
    with django_capture_on_commit_callbacks(execute=True):
        assert dit.post(f"/incidents/{incident.pk}/impact/", form).status_code == 302
    assert ("custody", "SHUTTLE-A handed from Cart to producer, seals 7001") in timeline(incident)
    # Day 1 is affected: a restore of a day-1 clip joins; the receipt of the shuttle too.
    with django_capture_on_commit_callbacks(execute=True):
        media.world.client("editor").post(
            "/api/restores/",
            {"clips": [media.clips[1].pk], "target": "vfx", "reason": "vfx pull"},
            format="json",
        )
        media.world.client("producer").post(
            f"/api/handoffs/{handoff_id}/receive/", {"seals_found": ["7001"]}, format="json"
        )
    kinds = [kind for kind, _ in timeline(incident)]
    assert kinds.count("restore") == 1 and kinds.count("custody") == 2
    assert ("custody", "SHUTTLE-A received from Cart, seals match") in timeline(incident)


def test_a_restore_finished_by_the_worker_joins_the_timeline(media: Media, workers: Workers) -> None:
    workers.start()
    dit = media.world.client("dit")
    dit.post("/p/FILM/incidents/", {"title": "Editorial lost a bin", "cause": "people"})
    incident = Incident.objects.get()
    dit.post(f"/incidents/{incident.pk}/impact/", {"days_affected": "1", "clips_affected": "1"})
    restore_id = (
        media.world.client("editor")
        .post(
            "/api/restores/",
            {"clips": [media.clips[0].pk], "target": "editorial", "reason": "bin lost"},
            format="json",
        )
        .json()["id"]
    )
    assert media.world.client("admin").post(f"/api/restores/{restore_id}/approve/", {}).status_code == 200
    wait_for(
        lambda: IncidentEvent.objects.filter(
            incident=incident, text__startswith=f"Restore {restore_id} verified"
        ).exists(),
        timeout=90,
        message=f"restore {restore_id} on the timeline\n{workers.logs()}",
    )
    assert [text for kind, text in timeline(incident) if kind == "restore"] == [
        f"Restore {restore_id} requested by editor: 2 files (370.0 KB) to editorial",
        f"Restore {restore_id} verified: 2 files (370.0 KB) at editorial",
    ]
    assert Path(media.restored(f"FILM_restore_{restore_id:05d}", media.files[0])).exists()
