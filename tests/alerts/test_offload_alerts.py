"""The issue's alert scenario on a real Celery worker, a real SMTP server and a real webhook receiver.

A DIT offloads a 200-file card (four RED clips of 50 spans) to two destinations; every file conflicts with
what SHUTTLE-1 already holds, so 200 copies fail and the offload ends
incomplete. One alert is raised (not 200): the producer has it in the app
within seconds, admins, producers and DITs get an email, the webhook one
Slack-compatible message. The same failure again is counted, not re-sent.
Nobody acknowledges it: after REELVAULT_ALERT_ESCALATE_SECONDS the beat task,
run by the worker, escalates it to the admins (app, email, webhook), once.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from alerts.models import Alert, Delivery, Notification
from catalog.models import Copy, ShootDay, Volume
from ingest.models import OffloadJob
from tests.alerts.servers import Inbox, Receiver, smtp_inbox, webhook_receiver
from tests.fixtures import WorkerProcess, World, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ESCALATE_AFTER = 8
FILES = 200


def wait_for(predicate: Callable[[], bool], message: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s: {message}")


@dataclass
class Rig:
    inbox: Inbox
    webhook: Receiver
    worker: WorkerProcess
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def rig(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    with smtp_inbox() as (port, inbox), webhook_receiver() as webhook:
        for name, value in {
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "DEFAULT_FROM_EMAIL": "alerts@vault.example.test",
            "REELVAULT_ALERT_WEBHOOK_URLS": webhook.url,
            "REELVAULT_ALERT_ESCALATE_SECONDS": str(ESCALATE_AFTER),
            # Whatever the test machine's disk holds, no volume-near-full alert joins in.
            "REELVAULT_VOLUME_FULL_PERCENT": "100",
        }.items():
            monkeypatch.setenv(name, value)
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        worker = start_worker(settings.REELVAULT_HOSTNAME, str(log))
        try:
            yield Rig(inbox, webhook, worker, log)
        finally:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


def offload(world: World, card: Path, cards_root: Path) -> OffloadJob:
    with override_settings(REELVAULT_INGEST_ROOTS=[cards_root]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(card), "destinations": ["RAID-1", "SHUTTLE-1"], "day": 1},
            format="json",
        )
    assert response.status_code == 201, response.content
    job_id = int(response.json()["id"])
    wait_for(lambda: OffloadJob.objects.get(pk=job_id).state in OffloadJob.FINISHED, f"offload {job_id}")
    return OffloadJob.objects.get(pk=job_id)


def test_a_200_file_failure_raises_one_alert_that_escalates(world: World, rig: Rig, tmp_path: Path) -> None:
    ShootDay.objects.create(project=world.project, number=1, date="2026-11-02")
    cards_root = tmp_path / "cards"
    card = cards_root / "A001"
    card.mkdir(parents=True)
    shuttle = tmp_path / "shuttle-1"
    # Four RED clips of 50 spans each: 200 files.
    names = [f"A001_C{clip:03d}_1102AB_{span:03d}.R3D" for clip in range(1, 5) for span in range(1, 51)]
    assert len(names) == FILES
    for name in names:
        (card / name).write_bytes(name.encode() * 40)
        (shuttle / "A001" / name).parent.mkdir(parents=True, exist_ok=True)
        (shuttle / "A001" / name).write_bytes(b"something else entirely")  # never overwritten: a conflict
    for label, folder in (("RAID-1", tmp_path / "raid-1"), ("SHUTTLE-1", shuttle)):
        folder.mkdir(exist_ok=True)
        Volume.objects.create(
            project=world.project,
            label=label,
            kind="raid",
            location=str(folder),
            host=settings.REELVAULT_HOSTNAME,
        )

    job = offload(world, card, cards_root)
    assert job.state == "incomplete", (job.error, rig.logs())
    assert Copy.objects.filter(volume__label="SHUTTLE-1", state="failed").count() == FILES

    # In the app within seconds: one alert, one notification per person who can act.
    wait_for(lambda: Alert.objects.exists(), f"the alert\n{rig.logs()}", timeout=10)
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.state) == ("transfer.incomplete", "critical", "open")
    assert alert.title == "FILM: offload of card A001 is incomplete" and alert.details["item_count"] == FILES
    assert (alert.first_seen_at - job.finished_at).total_seconds() < 5
    told = sorted(Notification.objects.filter(alert=alert).values_list("user__username", flat=True))
    assert told == ["admin", "dit", "producer"]
    from reelvault.celery import app

    app.send_task("alerts.alerts_escalate", queue="default")  # too early: nothing happens
    producer = world.client("producer")
    assert "offload of card A001 is incomplete" in producer.get("/notifications/").content.decode()
    assert "offload of card A001 is incomplete" in producer.get("/p/FILM/dashboard/").content.decode()

    # By email (the worker delivers after the commit) and to the webhook, once each.
    wait_for(lambda: len(rig.inbox.messages) >= 3, f"three alert emails\n{rig.logs()}", timeout=30)
    assert sorted(to for _, (to,), _ in rig.inbox.messages) == [
        "admin@example.test",
        "dit@example.test",
        "producer@example.test",
    ]
    assert all(
        m["Subject"] == "[Reelvault] FILM: offload of card A001 is incomplete"
        for _, _, m in rig.inbox.messages
    )
    rig.webhook.wait_for(lambda posts: len(posts) >= 1)
    (raised,) = rig.webhook.posts
    assert raised["reelvault"]["event"] == "raised" and raised["reelvault"]["item_count"] == FILES
    assert raised["attachments"][0]["title"] == alert.title

    # The same failure again: the same alert, counted, nobody told twice.
    again = offload(world, card, cards_root)
    assert again.state == "incomplete"
    wait_for(lambda: Alert.objects.get().occurrences == 2, f"the repeat\n{rig.logs()}", timeout=10)
    assert Alert.objects.count() == 1 and Notification.objects.filter(alert=alert).count() == 3
    time.sleep(1)
    assert len(rig.webhook.posts) == 1 and len(rig.inbox.messages) == 3

    # Not acknowledged: beat's escalation task, on the worker, tells the admins once.
    assert Alert.objects.get().escalated_at is None  # the early run above did nothing
    wait_for(
        lambda: (time.time() - alert.first_seen_at.timestamp()) > ESCALATE_AFTER + 0.5, "the escalation delay"
    )
    app.send_task("alerts.alerts_escalate", queue="default")
    wait_for(
        lambda: Alert.objects.get().escalated_at is not None, f"the escalation\n{rig.logs()}", timeout=20
    )
    app.send_task("alerts.alerts_escalate", queue="default")
    escalations = Notification.objects.filter(kind="alert.escalated")
    assert list(escalations.values_list("user__username", flat=True)) == ["admin"]
    rig.webhook.wait_for(lambda posts: len(posts) >= 2)
    assert rig.webhook.posts[1]["reelvault"]["event"] == "escalated"
    wait_for(lambda: len(rig.inbox.messages) >= 4, f"the escalation email\n{rig.logs()}", timeout=30)
    _, (to,), message = rig.inbox.messages[3]
    assert to == "admin@example.test" and message["Subject"].startswith(
        "[Reelvault] ESCALATED: FILM: offload"
    )
    time.sleep(1)
    assert escalations.count() == 1 and len(rig.webhook.posts) == 2
    assert Delivery.objects.filter(kind=Delivery.Kind.WEBHOOK, sent_at__isnull=False).count() == 2
