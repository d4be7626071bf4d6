"""The outbox: notification emails, daily report emails and webhook posts, one claim/send/sweep for all."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from alerts.models import Delivery, Notification
from alerts.outbox import deliveries_send_pending
from alerts.services import alert_raise, notify
from dashboard import services as dashboard_services
from tests.alerts.servers import smtp_inbox, webhook_receiver
from tests.alerts.test_offload_alerts import wait_for
from tests.dashboard.test_metrics import parse
from tests.fixtures import World, start_worker


def backdate_all(minutes: int = 5) -> None:
    """Make every row older than the sweep's grace (as if the commit-time task was lost)."""
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
def test_one_sweep_sends_every_kind_of_message_once(world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with smtp_inbox() as (port, inbox), webhook_receiver() as receiver:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.REELVAULT_ALERT_WEBHOOK_URLS = [receiver.url]
        notify(users=[world.users["editor"]], subject="For the editor", body="b", project=world.project)
        alert_raise(project=world.project, key="t:1", kind="test", severity="warning", title="t", body="b")
        dashboard_services.report_subscription_set(
            actor=world.users["producer"], project=world.project, subscribed=True
        )
        dashboard_services.daily_report_generate(
            project=world.project, report_date=date(2026, 11, 2), email=True
        )
        backdate_all()
        kinds = sorted(Delivery.objects.values_list("kind", flat=True))
        # The editor's notification, the alert's to admin, producer and DIT, one webhook, one report.
        assert kinds == ["email", "email", "email", "email", "report", "webhook"]

        assert deliveries_send_pending() == 6
        assert deliveries_send_pending() == 0  # sent: never twice
    assert sorted(recipients[0] for _, recipients, _ in inbox.messages) == [
        "admin@example.test",
        "dit@example.test",
        "editor@example.test",
        "producer@example.test",
        "producer@example.test",
    ]
    subjects = {message["Subject"] for _, _, message in inbox.messages}
    assert "[Reelvault] For the editor" in subjects
    assert any(subject.startswith("[Reelvault] FILM daily report 2026-11-02") for subject in subjects)
    assert [post["reelvault"]["key"] for post in receiver.posts] == ["t:1"]
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_job_queue_metric_counts_the_outbox_by_kind(world: World, settings: Any) -> None:
    settings.REELVAULT_METRICS_TOKEN = "token"
    settings.REELVAULT_ALERT_WEBHOOK_URLS = ["http://127.0.0.1:9/hooks"]
    alert_raise(project=world.project, key="t:1", kind="test", severity="warning", title="t", body="b")
    dashboard_services.report_subscription_set(
        actor=world.users["producer"], project=world.project, subscribed=True
    )
    dashboard_services.daily_report_generate(project=world.project, report_date=date(2026, 11, 2), email=True)
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer token")
    samples = parse(response.content.decode())
    assert samples['reelvault_job_queue_length{kind="email",project="",state="pending"}'] == 3
    assert samples['reelvault_job_queue_length{kind="webhook",project="",state="pending"}'] == 1
    assert samples['reelvault_job_queue_length{kind="report_email",project="",state="pending"}'] == 1


OLD_TASK_NAMES = [
    "alerts.notifications_deliver",
    "alerts.notifications_deliver_pending",
    "alerts.alert_deliveries_send",
    "alerts.alert_deliveries_send_pending",
    "dashboard.report_deliveries_send",
    "dashboard.report_deliveries_send_pending",
]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_messages_queued_under_the_old_task_names_still_send(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A worker of this version gets a task named as before the outbox merge: it sweeps the outbox."""
    from django.conf import settings

    from reelvault.celery import app

    with smtp_inbox() as (port, inbox):
        monkeypatch.setenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
        monkeypatch.setenv("EMAIL_PORT", str(port))
        worker = start_worker(settings.REELVAULT_HOSTNAME, str(tmp_path / "worker.log"))
        try:
            for number, name in enumerate(OLD_TASK_NAMES, start=1):
                # A row the migration copied from an old outbox: pending, its commit-time task long gone.
                notification = Notification.objects.create(
                    user=world.users["viewer"], subject=f"message {number}"
                )
                delivery = Delivery.objects.create(
                    kind=Delivery.Kind.EMAIL,
                    recipient="viewer@example.test",
                    notification=notification,
                    max_attempts=5,
                )
                backdate_all()
                # Old per-row tasks carried ids of the old tables: they mean nothing now.
                args = [[10_000 + number]] if not name.endswith("_pending") else []
                app.send_task(name, args=args, queue="default")
                wait_for(
                    lambda pk=delivery.pk: Delivery.objects.get(pk=pk).sent_at is not None,
                    f"{name} to send the pending message\n{(tmp_path / 'worker.log').read_text()[-3000:]}",
                )
        finally:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    assert len(inbox.messages) == len(OLD_TASK_NAMES)
    assert "unregistered task" not in (tmp_path / "worker.log").read_text(errors="replace").lower()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_row_of_the_old_outboxes(world: World) -> None:
    old_nodes = [("alerts", "0002_alerts"), ("dashboard", "0002_models_moved_out")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(old_nodes)
    try:
        old = MigrationExecutor(connection).loader.project_state(old_nodes).apps
        now = timezone.now()
        sent = old.get_model("alerts", "Notification").objects.create(
            user_id=world.users["editor"].pk, subject="sent", emailed_at=now, email_attempts=1
        )
        failing = old.get_model("alerts", "Notification").objects.create(
            user_id=world.users["dit"].pk, subject="failing", email_attempts=2, email_error="refused"
        )
        alert = old.get_model("alerts", "Alert").objects.create(
            project_id=world.project.pk, key="k", kind="test", title="t", first_seen_at=now, last_seen_at=now
        )
        old.get_model("alerts", "AlertDelivery").objects.create(
            alert=alert, event="raised", url="https://hooks.example.test/x", payload={"text": "t"}, attempts=3
        )
        report = old.get_model("dashboard", "DailyReport").objects.create(
            project_id=world.project.pk,
            report_date=date(2026, 11, 2),
            generated_at=now,
            data={},
            html="",
            pdf=b"",
        )
        old.get_model("dashboard", "ReportDelivery").objects.create(
            report=report, user_id=world.users["producer"].pk, address="producer@example.test"
        )
    finally:
        MigrationExecutor(connection).migrate(latest)

    emails = {d.notification.subject: d for d in Delivery.objects.filter(kind="email") if d.notification}
    assert {sent.subject, failing.subject} == set(emails)
    assert emails["sent"].sent_at == now and emails["sent"].recipient == "editor@example.test"
    assert emails["failing"].sent_at is None and emails["failing"].attempts == 2
    assert emails["failing"].last_error == "refused" and emails["failing"].max_attempts == 5
    assert (
        emails["failing"].notification is not None and emails["failing"].notification.email_error == "refused"
    )
    webhook = Delivery.objects.get(kind="webhook")
    assert (webhook.recipient, webhook.alert_id, webhook.event) == (
        "https://hooks.example.test/x",
        alert.pk,
        "raised",
    )
    assert webhook.payload == {"text": "t"} and webhook.attempts == 3 and webhook.max_attempts == 8
    report_email = Delivery.objects.get(kind="report")
    assert (
        report_email.payload == {"report_id": report.pk} and report_email.recipient == "producer@example.test"
    )
    assert report_email.user_id == world.users["producer"].pk and report_email.sent_at is None
