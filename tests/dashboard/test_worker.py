"""The daily report as beat runs it: the task on a real Celery worker, email through a real SMTP server."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.models import Delivery
from catalog.models import ShootDay
from dashboard.models import DailyReport, ReportSubscription
from tests.alerts.servers import smtp_inbox
from tests.dashboard.conftest import build_site
from tests.fixtures import World, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_beat_task_on_a_worker_emails_todays_report_to_subscribers(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = build_site(world, days=2)
    ShootDay.objects.filter(pk=site.days[2].pk).update(date=timezone.localdate())  # today is day 2
    ReportSubscription.objects.create(project=site.project, user=world.users["producer"])
    with smtp_inbox() as (port, inbox):
        monkeypatch.setenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
        monkeypatch.setenv("EMAIL_PORT", str(port))
        worker = start_worker(settings.REELVAULT_HOSTNAME, str(tmp_path / "worker.log"))
        try:
            from reelvault.celery import app

            app.send_task("dashboard.daily_reports_run", queue="default")
            deadline = time.monotonic() + 60
            while not inbox.messages and time.monotonic() < deadline:
                time.sleep(0.1)
            app.send_task(
                "dashboard.daily_reports_run", queue="default"
            )  # beat firing twice: no second email
            time.sleep(2)
        finally:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert len(inbox.messages) == 1, log
    _, recipients, message = inbox.messages[0]
    assert recipients == ["producer@example.test"]
    assert message["Subject"] == f"[Reelvault] FILM daily report {timezone.localdate()}: day 2: In progress"
    types = [part.get_content_type() for part in message.walk()]
    assert "text/html" in types and "application/pdf" in types
    report = DailyReport.objects.get()
    assert report.trigger == "schedule" and report.report_date == timezone.localdate()
    assert Delivery.objects.get(kind="report").sent_at is not None
