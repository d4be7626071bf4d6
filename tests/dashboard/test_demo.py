"""The issue's "done when" on the demo project: each day's state, a complete day signed off, an incomplete
one refused, the daily report, an alert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from rest_framework.test import APIClient

from alerts.models import Alert, Delivery
from alerts.outbox import deliveries_send
from catalog.models import DaySignOff


def test_the_demo_has_a_day_to_sign_off_one_to_refuse_and_an_alert(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo")  # the demo as `make run` seeds it: 300 clips over 3 days
    for _ in range(2):  # idempotent
        call_command("seed_demo_dashboard")
    client = APIClient()
    client.force_login(get_user_model().objects.get(username="producer"))
    days = {d["day"]: d for d in client.get("/api/projects/DEMO/days/").json()}
    assert days[1]["state"] == "green" and days[1]["policy"]["met"]
    assert days[2]["state"] == "red" and days[2]["policy"]["clips_short"] > 0
    assert days[3]["cards"]["missing"] == ["C003"] and days[3]["state"] == "amber"

    assert client.post("/api/projects/DEMO/days/1/signoff/").status_code == 201
    refused = client.post("/api/projects/DEMO/days/2/signoff/")
    assert refused.status_code == 409 and "do not meet the storage policy" in refused.json()["reasons"][0]
    assert list(DaySignOff.objects.values_list("day__number", flat=True)) == [1]

    # Besides the drive-health alert the custody demo raises for its worn shuttle:
    assert Alert.objects.filter(project__code="DEMO", kind="drive.warning").count() == 1
    (alert,) = Alert.objects.filter(project__code="DEMO").exclude(kind__startswith="drive.")
    assert (
        alert.kind == "copy.corrupt"
        and alert.details["item_count"] == days[2]["verification_failures"]["corrupt"]
    )

    call_command("daily_report", "DEMO", "--date", "2026-11-03", "--email")
    assert [m.to for m in mail.outbox] == [["producer@demo.reelvault.local"]]
    reports = Delivery.objects.filter(kind=Delivery.Kind.REPORT)
    assert deliveries_send(delivery_ids=list(reports.values_list("pk", flat=True))) == 0
