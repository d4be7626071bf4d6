"""A copy that moved on a WORM volume is not re-pointed: the catalog refuses, with the reason, audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.models import AuditEvent, Copy
from tests.fixity.conftest import Vault
from tests.fixity.test_access import finished_run

pytestmark = pytest.mark.django_db


def test_accepting_a_moved_copy_on_a_worm_volume_is_refused(vault: Vault) -> None:
    root = Path(vault.raid.location)
    (root / "A001").rename(root / "A001-renamed")
    run = finished_run(vault)
    vault.raid.worm = True
    vault.raid.save()
    first = vault.files[0]
    old = f"A001/{first.relative_path}"
    response = vault.world.client("dit").post(f"/fixity-runs/{run.pk}/", {"path": old}, follow=True)
    page = response.content.decode()
    assert "RAID-A is WORM (write once, read many)" in page and "cannot be renamed" in page
    copy = Copy.objects.get(volume=vault.raid, media_file=first)
    assert copy.path == old
    event = AuditEvent.objects.get(action="fixity.moved_accept_refused")
    assert event.actor_name == "dit" and event.after["to"] == f"A001-renamed/{first.relative_path}"
    assert not AuditEvent.objects.filter(action="fixity.moved_accept").exists()
