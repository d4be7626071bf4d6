"""Restores raise alerts after the commit: a fault in alert code never undoes what a restore recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import pytest

from alerts import hooks
from alerts.models import Alert
from catalog.models import AuditEvent, Copy
from restore import services
from restore.models import RestoreRequest
from tests.fixtures import World
from tests.restore.conftest import build_media, flip_byte

# Real commits: on_commit callbacks run as in production, not captured by a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _broken_alert_raise(**kwargs: Any) -> NoReturn:
    raise RuntimeError("the alerts code is broken")


def test_a_restore_whose_alert_fails_still_records_the_corrupt_copy(
    world: World, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REELVAULT_HOSTNAME = "restore-alerts-test"
    media = build_media(world, tmp_path / "media", host="restore-alerts-test")
    bad = media.files[0]
    flip_byte(media.copy_path(bad, media.raid), offset=1234)
    body = {"clips": {"scene": "42"}, "target": "editorial", "reason": "conform"}
    response = world.client("editor").post("/api/restores/", body, format="json")
    assert response.status_code == 201, response.content
    restore_id = int(response.json()["id"])
    approved = world.client("admin").post(f"/api/restores/{restore_id}/approve/", {"comment": "ok"})
    assert approved.status_code == 200, approved.content
    monkeypatch.setattr(hooks, "alert_raise", _broken_alert_raise)

    restore = services.restore_request_run(request_id=restore_id)

    assert restore is not None and restore.state == RestoreRequest.State.VERIFIED, restore
    primary = Copy.objects.get(media_file=bad, volume=media.raid)
    assert primary.state == Copy.State.CORRUPT and "does not match the catalog" in primary.last_error
    assert AuditEvent.objects.filter(action="copy.corrupt", object_id=str(primary.pk)).exists()
    assert not Alert.objects.exists()
    # With the alerts code fixed, the next problem on that volume alerts again.
    monkeypatch.undo()
    other = media.files[1]
    flip_byte(media.copy_path(other, media.raid), offset=10)
    response = world.client("editor").post("/api/restores/", body, format="json")
    second = int(response.json()["id"])
    world.client("admin").post(f"/api/restores/{second}/approve/", {"comment": "ok"})
    assert services.restore_request_run(request_id=second) is not None
    alert = Alert.objects.get(kind="copy.corrupt")
    assert alert.key == f"copy.corrupt:volume:{media.raid.pk}" and alert.link == f"/restores/{second}/"
