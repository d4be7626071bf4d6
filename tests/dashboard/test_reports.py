"""Daily status reports: built (JSON, HTML, PDF), emailed through a real SMTP server, on demand."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from alerts.models import Delivery
from alerts.outbox import deliveries_send, deliveries_send_pending
from catalog.models import AuditEvent
from dashboard import services
from dashboard.models import DailyReport, ReportSubscription
from dashboard.selectors import report_deliveries
from tests.alerts.servers import smtp_inbox
from tests.dashboard.conftest import Site

DAY_ONE = date(2026, 11, 2)


def subscribe(site: Site, *personas: str) -> None:
    for persona in personas:
        ReportSubscription.objects.create(project=site.project, user=site.world.users[persona])


def test_the_report_carries_the_days_figures_failures_and_who_signed_off(site: Site) -> None:
    assert site.world.client("producer").post("/api/projects/FILM/days/1/signoff/").status_code == 201
    report = services.daily_report_generate(project=site.project, report_date=date(2026, 11, 4))
    data = report.data
    (day,) = data["days"]
    assert day["day"] == 3 and day["state"] == "red"
    assert {j["card"] for j in data["failures"]["jobs"]} == {"A003"}
    assert {(c["volume"], c["state"]) for c in data["failures"]["copies"]} == {
        ("NAS-1", "corrupt"),
        ("LTO-1", "failed"),
    }
    overview = {row["day"]: row for row in data["overview"]}
    assert overview[1]["signed_off"] and overview[1]["signed_off_by"] == "producer"
    assert "A003" in report.html and "Needs attention" in report.html
    assert bytes(report.pdf).startswith(b"%PDF-")
    # A date without shooting reports on the latest day before it.
    later = services.daily_report_generate(project=site.project, report_date=date(2026, 12, 25))
    assert [d["day"] for d in later.data["days"]] == [4]
    earlier = services.daily_report_generate(project=site.project, report_date=date(2026, 1, 1))
    assert earlier.data["days"] == [] and "No shoot day yet" in earlier.html


def test_the_command_emails_the_report_to_subscribers_through_a_real_smtp_server(
    site: Site, settings: Any, tmp_path: Path
) -> None:
    subscribe(site, "producer", "admin")
    site.world.users["admin"].email = ""  # no address: skipped
    site.world.users["admin"].save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "reports@vault.example.test"
    settings.REELVAULT_BASE_URL = "https://vault.example.test"
    with smtp_inbox() as (port, inbox):
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        call_command(
            "daily_report", "FILM", "--date", "2026-11-03", "--email", "--pdf", str(tmp_path / "r.pdf")
        )
    ((sender, recipients, message),) = inbox.messages
    assert sender == "reports@vault.example.test" and recipients == ["producer@example.test"]
    assert message["Subject"] == "[Reelvault] FILM daily report 2026-11-03: day 2: In progress"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert (
        "https://vault.example.test/p/FILM/reports/2026-11-03/"
        in parts["text/plain"].get_payload(decode=True).decode()
    )
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "FILM daily report" in html and "C002" in html and "Not met" in html
    pdf = parts["application/pdf"]
    assert pdf.get_filename() == "FILM-daily-report-2026-11-03.pdf"
    assert pdf.get_payload(decode=True).startswith(b"%PDF-")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    delivery = Delivery.objects.get(kind="report")
    assert delivery.sent_at is not None and delivery.recipient == "producer@example.test"
    assert AuditEvent.objects.filter(action="report.generate", source__startswith="cli:").exists()


def test_beat_builds_each_projects_report_once_and_emails_it_once(site: Site) -> None:
    subscribe(site, "producer", "dit")
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        first = services.daily_reports_run(report_date=DAY_ONE)
        again = services.daily_reports_run(report_date=DAY_ONE)
        ids = list(Delivery.objects.filter(kind="report").values_list("pk", flat=True))
        assert deliveries_send(delivery_ids=ids) == 2
        assert deliveries_send(delivery_ids=ids) == 0  # claimed and sent: never twice
    assert len(first) == 1 and again == []  # OTHER has no shoot day: no report
    assert DailyReport.objects.get().trigger == "schedule"
    assert sorted(m.to[0] for m in mail.outbox) == ["dit@example.test", "producer@example.test"]


def test_a_failed_email_is_retried_by_the_sweep(site: Site, settings: Any) -> None:
    from tests.alerts.servers import free_port

    subscribe(site, "producer")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    report = services.daily_report_generate(project=site.project, report_date=DAY_ONE, email=True)
    delivery = report_deliveries(report=report).get()
    assert deliveries_send(delivery_ids=[delivery.pk]) == 0
    delivery.refresh_from_db()
    assert delivery.sent_at is None and delivery.attempts == 1 and "Connection" in delivery.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Delivery.objects.filter(pk=delivery.pk).update(created_at=delivery.created_at.replace(year=2020))
    assert deliveries_send_pending() == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("persona", "expected"), [("producer", 201), ("dit", 201), ("editor", 403), ("outsider", 404)]
)
def test_on_demand_reports_through_the_api(site: Site, persona: str, expected: int) -> None:
    client = site.world.client(persona)
    response = client.post("/api/projects/FILM/reports/", {"date": "2026-11-02"}, format="json")
    assert response.status_code == expected, response.content
    if expected != 201:
        assert not DailyReport.objects.exists()
        return
    body = response.json()
    assert body["html"] == "/p/FILM/reports/2026-11-02/" and body["data"]["days"][0]["day"] == 1
    assert client.get("/api/projects/FILM/reports/").json()[0]["date"] == "2026-11-02"
    assert client.get("/api/projects/FILM/reports/2026-11-02/").json()["data"]["project"]["code"] == "FILM"
    page = client.get("/p/FILM/reports/2026-11-02/")
    assert page.status_code == 200 and b"FILM daily report" in page.content
    pdf = client.get("/p/FILM/reports/2026-11-02.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert site.world.client("outsider").get("/p/FILM/reports/2026-11-02.pdf").status_code == 404
    assert site.world.client("viewer").get("/p/FILM/reports/2026-11-02/").status_code == 200


def test_members_subscribe_themselves(site: Site) -> None:
    client = site.world.client("viewer")
    assert client.get("/api/projects/FILM/reports/subscription/").json()["subscribed"] is False
    assert client.put("/api/projects/FILM/reports/subscription/").json()["subscribed"] is True
    assert ReportSubscription.objects.filter(user=site.world.users["viewer"]).exists()
    assert AuditEvent.objects.filter(action="report.subscribe", actor_name="viewer").exists()
    assert client.delete("/api/projects/FILM/reports/subscription/").json()["subscribed"] is False
    assert not ReportSubscription.objects.exists()
    assert site.world.client("outsider").put("/api/projects/FILM/reports/subscription/").status_code == 404
    # The page's button does the same.
    page = site.world.client("producer").post(
        "/p/FILM/reports/subscription/", {"subscribe": "1"}, follow=True
    )
    assert b"You get it by email" in page.content


def test_the_beat_schedule_runs_the_report_at_the_configured_local_time() -> None:
    from django.conf import settings

    from reelvault.celery import app

    entry = app.conf.beat_schedule["dashboard-daily-reports"]
    hour, minute = (int(x) for x in settings.REELVAULT_DAILY_REPORT_TIME.split(":"))
    assert entry["schedule"].hour == {hour} and entry["schedule"].minute == {minute}
    assert set(settings.CELERY_BEAT_SCHEDULE) < set(app.conf.beat_schedule)
    app.loader.import_default_modules()
    for name, spec in app.conf.beat_schedule.items():
        assert spec["task"] in app.tasks, f"beat entry {name} names an unknown task {spec['task']}"


PDFTOTEXT = shutil.which("pdftotext")


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (Debian's poppler-utils) is not installed")
def test_the_pdf_is_a_document_a_studio_files(site: Site, settings: Any) -> None:
    """Header, figures, policy, failures, the sign-off in local time with its zone, charts, page numbers."""
    settings.TIME_ZONE = "Europe/Paris"
    assert site.world.client("producer").post("/api/projects/FILM/days/1/signoff/").status_code == 201
    report = services.daily_report_generate(project=site.project, report_date=DAY_ONE)
    artifacts = Path(__file__).resolve().parents[2] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    pdf = artifacts / "daily-report-FILM-day1.pdf"
    pdf.write_bytes(bytes(report.pdf))
    text = subprocess.run(
        [str(PDFTOTEXT), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "DAILY ARCHIVE REPORT" in text and "FILM" in text and "Monday 02 November 2026" in text
    assert "3 verified copies on 2 kind(s) of media, 1 off-site" in text
    # As the pages show a moment: "Dec. 6, 2026, 2:35 p.m. CET" (catalog.display).
    local = r"[A-Z][a-z]+\.? \d{1,2}, \d{4}, (\d{1,2}(:\d{2})? [ap]\.m\.|noon|midnight) CET"
    assert re.search(rf"Signed off by producer on {local}", text)
    assert "Cards released for reformat: A001, B001." in text
    assert "Footage" in text and "400.0 GB" in text  # the day's 0.4 TB in the unit it calls for
    assert "Trends per shoot day" in text and "Every day of the project" in text
    assert "Verification failures" in text and "Times are local (Europe/Paris)" in text
    assert re.search(r"Page 1 of \d", text)
    assert "T" not in re.findall(r"\d{4}-\d{2}-\d{2}(T)\d{2}", text)  # no ISO timestamps
    # The HTML and the email show the same local time, never an ISO timestamp.
    assert re.search(local, report.html)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", report.html)
    assert "400.0 GB" in report.html and " TB</td>" not in report.html


@pytest.mark.parametrize(("persona", "expected"), [("producer", 200), ("viewer", 200), ("outsider", 404)])
def test_the_report_page_has_the_app_header_and_the_emailed_document_stays_standalone(
    site: Site, persona: str, expected: int
) -> None:
    subscribe(site, "producer")
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        report = services.daily_report_generate(project=site.project, report_date=DAY_ONE, email=True)
        assert deliveries_send(delivery_ids=[report_deliveries(report=report).get().pk]) == 1
    client = site.world.client(persona)
    page = client.get("/p/FILM/reports/2026-11-02/")
    document = client.get("/p/FILM/reports/2026-11-02/document/")
    assert (page.status_code, document.status_code) == (expected, expected)
    if expected != 200:
        return
    html = page.content.decode()
    assert '<header class="top">' in html and 'aria-label="Main"' in html
    assert 'href="/p/FILM/reports/">' in html  # the way back
    assert '<iframe class="report-document" src="/p/FILM/reports/2026-11-02/document/"' in html
    emailed = mail.outbox[-1].alternatives[0][0]
    stored = document.content.decode()
    assert stored == DailyReport.objects.get().html
    for standalone in (stored, emailed):
        assert standalone.startswith("<!doctype html>") and "FILM daily report" in standalone
        assert '<header class="top">' not in standalone
    assert document["X-Frame-Options"] == "SAMEORIGIN"
