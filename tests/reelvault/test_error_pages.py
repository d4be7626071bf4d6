"""Refusals and errors as a person meets them: the app's page for browsers, JSON for the API,
one log line; the favicon; the demo's email outbox."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from reelvault import launcher
from restore import services
from restore.models import RestoreRequest
from tests.fixtures import World

HEADER = '<header class="top">'


@pytest.fixture
def pending(world: World, tmp_path: Path, settings: Any) -> RestoreRequest:
    from restore.models import RestoreTarget

    settings.REELVAULT_RESTORE_ROOTS = [tmp_path]
    RestoreTarget.objects.create(project=world.project, name="editorial", path=str(tmp_path))
    from catalog.models import MediaFile

    MediaFile.objects.create(clip=world.clip, relative_path="a.mov", size=10, xxh128="0" * 32)
    return services.restore_request_create(
        actor=world.users["editor"],
        project=world.project,
        selection=services.Selection(clips=(world.clip.pk,)),
        target="editorial",
        reason="recut",
    )


def test_a_browser_refused_by_the_api_gets_the_apps_page_and_a_client_gets_json(
    world: World, pending: RestoreRequest
) -> None:
    client = world.client("viewer")
    page = client.get(f"/api/restores/{pending.pk}/", HTTP_ACCEPT="text/html")
    body = page.content.decode()
    assert page.status_code == 403 and HEADER in body and "Not allowed" in body
    assert "403 Forbidden" not in body and "Your projects" in body

    api = client.get(f"/api/restores/{pending.pk}/", HTTP_ACCEPT="application/json")
    assert api.status_code == 403 and api["Content-Type"] == "application/json"
    assert "detail" in api.json()


def test_refusal_and_not_found_pages_have_the_header_and_a_way_back(
    world: World, pending: RestoreRequest
) -> None:
    client = world.client("viewer")
    refused = client.get("/p/FILM/restores/", HTTP_REFERER="/p/FILM/")
    body = refused.content.decode()
    assert refused.status_code == 403 and HEADER in body
    assert "does not allow requesting restores" in body or "Not allowed" in body
    assert '<a href="/p/FILM/">← Back</a>' in body

    missing = client.get("/no/such/page/")
    body = missing.content.decode()
    assert missing.status_code == 404 and HEADER in body and "There is no page at this address." in body
    assert "Resolver404" not in body and '<a href="/">' in body


def test_the_server_error_page_has_the_header_without_touching_the_database(db: None) -> None:
    from reelvault.middleware import server_error

    response = server_error(RequestFactory().get("/somewhere/"))
    body = response.content.decode()
    assert response.status_code == 500 and HEADER in body and "Something went wrong" in body
    assert "Reelvault" in body and '<link rel="icon"' in body


def test_api_docs_and_the_api_browser_have_the_header(world: World) -> None:
    client = world.client("editor")
    for url in ("/api/docs/", "/api/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and HEADER in response.content.decode(), url


def test_a_refused_request_is_one_log_line(
    world: World, pending: RestoreRequest, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        world.client("viewer").get("/p/FILM/restores/")
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].getMessage() == "Forbidden (Permission denied): /p/FILM/restores/"
    assert records[0].exc_info is None


def test_the_favicon_is_linked_and_served(world: World) -> None:
    client = world.client("editor")
    assert '<link rel="icon" href="/static/img/favicon.svg"' in client.get("/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.svg"
    assert (
        (Path(__file__).resolve().parents[2] / "static" / "img" / "favicon.svg")
        .read_text()
        .startswith("<svg")
    )


def test_page_titles_follow_one_rule(world: World) -> None:
    client = world.client("admin")
    assert "<title>Restores · FILM · Reelvault</title>" in client.get("/p/FILM/restores/").content.decode()
    assert "<title>Notifications · Reelvault</title>" in client.get("/notifications/").content.decode()


def test_make_run_without_a_mail_server_writes_email_to_the_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox"
    env = launcher._demo_mail({"EMAIL_FILE_PATH": str(outbox)})
    assert env == {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    assert outbox.is_dir()
    assert f"emails are written to {outbox}/" in capsys.readouterr().out
    assert launcher._demo_mail({"EMAIL_HOST": "smtp.example.org"}) == {}
