"""Web security: login and token lockout, token expiry, HTTPS settings, the schema behind login,
/metrics scoped to the caller's projects, and another project's audit entries as 404."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.audit import audit_record
from tests.fixtures import PASSWORD, World

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_login_page_locks_a_username_out_after_repeated_failures(world: World, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": "editor", "password": "wrong"})
        assert response.status_code == 200  # the form again, with the error
    response = client.post("/login/", {"username": "editor", "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused during the cool-off.
    response = client.post("/login/", {"username": "editor", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    assert client.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302


def test_the_token_endpoint_locks_a_username_out_after_repeated_failures(world: World, settings: Any) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/api/auth/token/", {"username": "dit", "password": "wrong"}, format="json")
        assert response.status_code in (400, 429)
    response = client.post("/api/auth/token/", {"username": "dit", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]
    assert not Token.objects.filter(user=world.users["dit"]).exists()


def test_a_token_expires_and_a_new_one_is_issued(world: World, settings: Any) -> None:
    client = APIClient()
    login = {"username": "editor", "password": PASSWORD}
    answer = client.post("/api/auth/token/", login, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer['token']}")
    assert client.get("/api/clips/").status_code == 200
    Token.objects.filter(key=answer["token"]).update(
        created=timezone.now() - timedelta(hours=settings.REELVAULT_TOKEN_TTL_HOURS, minutes=1)
    )
    response = client.get("/api/clips/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    fresh = APIClient().post("/api/auth/token/", login, format="json")
    assert fresh.json()["token"] != answer["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh.json()['token']}")
    assert client.get("/api/clips/").status_code == 200


def test_the_api_schema_and_docs_need_a_login(world: World) -> None:
    anonymous = Client()
    assert anonymous.get("/api/schema/").status_code == 401
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")
    viewer = world.client("viewer")
    assert viewer.get("/api/schema/").status_code == 200
    assert viewer.get("/api/docs/").status_code == 200


def test_a_content_security_policy_is_sent_when_configured(world: World, settings: Any) -> None:
    settings.REELVAULT_CSP = "default-src 'self'"
    assert world.client("viewer").get("/").headers["Content-Security-Policy"] == "default-src 'self'"
    settings.REELVAULT_CSP = ""
    assert "Content-Security-Policy" not in world.client("viewer").get("/").headers


def _settings_with(env: dict[str, str]) -> dict[str, object]:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.REELVAULT_CSP, s.REELVAULT_TOKEN_TTL_HOURS]))"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith("REELVAULT_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**keep, "DJANGO_SETTINGS_MODULE": "reelvault.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    secure, csrf, hsts, csp, ttl = yaml.safe_load(out)
    return {"secure": secure, "csrf": csrf, "hsts": hsts, "csp": csp, "ttl": ttl}


def test_https_settings_are_off_for_make_run_and_on_in_the_production_shape() -> None:
    assert _settings_with({}) == {"secure": False, "csrf": False, "hsts": 0, "csp": "", "ttl": 168}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web_env = compose["services"]["web"]["environment"]
    env = {k: str(v) for k, v in web_env.items() if k.startswith("REELVAULT_")}
    production = _settings_with(env)
    assert production["secure"] is True and production["csrf"] is True
    assert int(str(production["hsts"])) >= 31536000
    csp = str(production["csp"])
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


@pytest.fixture
def metrics_site(world: World, settings: Any) -> World:
    settings.REELVAULT_METRICS_TOKEN = "scrape-token"
    return world


def test_a_staff_user_sees_only_the_metrics_of_their_projects(metrics_site: World) -> None:
    # The outsider is staff and admin of OTHER only.
    text = metrics_site.client("outsider").get("/metrics").content.decode()
    assert 'project="OTHER"' in text
    assert 'project="FILM"' not in text
    scrape = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").content.decode()
    assert 'project="OTHER"' in scrape and 'project="FILM"' in scrape


def test_another_projects_audit_entry_is_404_and_a_weak_role_403(world: World) -> None:
    other = audit_record(actor=None, action="test.other", project=world.other_project)
    own = audit_record(actor=None, action="test.own", project=world.project)
    # The editor may read no audit log at all: OTHER's entry does not exist for them.
    assert world.client("editor").get(f"/api/audit/{other.pk}/").status_code == 404
    assert world.client("editor").get(f"/api/audit/{own.pk}/").status_code == 403
    assert world.client("producer").get(f"/api/audit/{other.pk}/").status_code == 404
    assert world.client("producer").get(f"/api/audit/{own.pk}/").status_code == 200
