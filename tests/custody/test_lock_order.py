"""Beat jobs that touch the same alert never deadlock on the audit chain's lock."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone

from alerts.models import Alert, Severity
from alerts.services import alerts_escalate
from catalog.models import Volume
from custody.services import volumes_unreported_mark
from tests.fixtures import VolumeFactory, World

ROUNDS = 25


def _run(target: object, errors: list[BaseException], start: threading.Barrier) -> None:
    try:
        start.wait()
        target()  # type: ignore[operator]
    except OperationalError as error:  # a deadlock is an OperationalError
        errors.append(error)
    finally:
        connection.close()


def test_marking_a_silent_volume_offline_and_escalating_its_alert_at_once_never_deadlock(
    transactional_db: None, world: World
) -> None:
    long_ago = timezone.now() - timedelta(days=1)
    volume = VolumeFactory(project=world.project, label="RAID-LOCK", host="cart-silent", online=True)
    alert = Alert.objects.create(
        project=world.project,
        key=f"volume.unreachable:{volume.pk}",
        kind="volume.unreachable",
        severity=Severity.WARNING,
        title="Volume RAID-LOCK is unreachable",
        body="RAID-LOCK: it was unplugged",
        first_seen_at=long_ago,
        last_seen_at=long_ago,
    )
    errors: list[BaseException] = []
    for _ in range(ROUNDS):
        Volume.objects.filter(pk=volume.pk).update(online=True, created_at=long_ago)
        Alert.objects.filter(pk=alert.pk).update(
            state=Alert.State.OPEN, escalation_level=0, escalated_at=None, first_seen_at=long_ago
        )
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=_run, args=(volumes_unreported_mark, errors, start)),
            threading.Thread(target=_run, args=(alerts_escalate, errors, start)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        volume.refresh_from_db()
        alert.refresh_from_db()
        assert not volume.online and alert.escalation_level == 1
