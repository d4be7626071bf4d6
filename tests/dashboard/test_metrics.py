"""/metrics: Prometheus text format, reelvault_ names, right values, and who may scrape it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from alerts.services import alert_raise
from tests.dashboard.conftest import TB, Site

SAMPLE = re.compile(r'^(reelvault_[a-z_]+)(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')


def parse(text: str) -> dict[str, float]:
    """Every sample as 'name{labels}' -> value; fails on any line that is not valid exposition format."""
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            name = line.split()[2]
            assert name.startswith("reelvault_"), line
            if line.startswith("# TYPE "):
                assert line.split()[3] in {"counter", "gauge"}, line
                typed.add(name)
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        assert match.group(1) in typed, f"{match.group(1)} has no TYPE line"
        key, value = line.rsplit(" ", 1)
        samples[key] = float(value)
    return samples


@pytest.fixture
def token(settings: Any) -> str:
    settings.REELVAULT_METRICS_TOKEN = "s3cret-scrape-token"
    return str(settings.REELVAULT_METRICS_TOKEN)


def test_prometheus_scrapes_with_its_bearer_token(site: Site, token: str) -> None:
    alert_raise(project=site.project, key="t:1", kind="test", severity="critical", title="t", body="b")
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse(response.content.decode())
    assert samples['reelvault_transfer_bytes_total{project="FILM"}'] == 3 * TB // 10
    assert samples['reelvault_transfer_jobs_total{project="FILM",state="completed"}'] == 3
    assert samples['reelvault_transfer_failures_total{project="FILM"}'] == 1
    assert samples['reelvault_job_queue_length{kind="offload",project="FILM",state="running"}'] == 1
    # A002C002, A003C001 and the world's clip (no file) are short of the policy, on days 2 and 3.
    assert samples['reelvault_policy_gap_clips{project="FILM"}'] == 3
    assert samples['reelvault_policy_gap_days{project="FILM"}'] == 2
    assert samples['reelvault_verification_failures{project="FILM",state="corrupt"}'] == 1
    assert samples['reelvault_alerts_open{project="FILM",severity="critical",state="open"}'] == 1
    assert samples['reelvault_alerts_open{project="OTHER",severity="critical",state="open"}'] == 0
    assert samples['reelvault_days_signed_off{project="FILM"}'] == 0
    site.world.client("producer").post("/api/projects/FILM/days/1/signoff/")
    again = parse(Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode())
    assert again['reelvault_days_signed_off{project="FILM"}'] == 1


@pytest.mark.parametrize(
    ("who", "header", "expected"),
    [
        ("anonymous", "", 401),
        ("anonymous", "Bearer wrong-token", 401),
        ("anonymous", "Basic czNjcmV0", 401),
        ("viewer", "", 403),  # logged in, not staff
        ("producer", "", 403),
        ("admin", "", 200),  # staff session
        ("anonymous", "Bearer s3cret-scrape-token", 200),
    ],
)
def test_who_may_read_the_metrics(site: Site, token: str, who: str, header: str, expected: int) -> None:
    client = Client()
    if who != "anonymous":
        client.force_login(site.world.users[who])
    response = client.get("/metrics", **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == expected
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"reelvault_" not in response.content


def test_without_a_token_setting_only_staff_get_in(site: Site, settings: Any) -> None:
    settings.REELVAULT_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    staff = Client()
    staff.force_login(site.world.users["admin"])
    assert staff.get("/metrics").status_code == 200


def test_label_values_are_escaped() -> None:
    from reelvault.metrics import Metric, render

    metric = Metric("reelvault_x", "gauge", 'help with "quotes"\nand a newline')
    metric.add(1.5, volume='RAID "A"\\1\nB')
    text = render([metric])
    assert 'reelvault_x{volume="RAID \\"A\\"\\\\1\\nB"} 1.5' in text
    assert parse(text) == {'reelvault_x{volume="RAID \\"A\\"\\\\1\\nB"}': 1.5}
