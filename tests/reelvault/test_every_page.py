"""Every page of every role, as a person reads it: the app's header, and no internals.

The demo is seeded as `make run` seeds it (fewer clips), a few restores,
notifications and alerts are added, then each demo user follows every
same-site link from the home page (GET only, a few instances per URL shape).
Each HTML page must carry the navigation header and its visible text must
show no Python dict or list repr and no ISO-8601 timestamp. Seeding twice must
change nothing (``make run`` restarted).
"""

from __future__ import annotations

import html
import re
from collections import Counter, deque
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from alerts.models import Alert
from catalog.models import Project
from restore import services as restore_services

ROLES = ["admin", "producer", "editor", "dit", "viewer"]
SKIP = (
    "/logout/",
    "/admin/",  # Django's admin: its own pages, reached from the header's Admin link
    "/static/",
    "/api/schema/",  # a YAML download
    "/metrics",
    "/healthz",
)
PER_SHAPE = 3  # pages visited per URL shape (digits folded), enough to meet each template's states
MAX_PAGES = 400

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?\b")
PY_REPR = re.compile(r"\{'[^']*':|\['[^']*'(, '|\])|\bdatetime\.datetime\(|\bDecimal\('|<[A-Z]\w+: ")
HEADER = re.compile(r'<header class="top">.*?<nav aria-label="Main">', re.S)
HREF = re.compile(r'href="([^"]+)"')


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _seed(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_RESTORE_ROOTS = [tmp_path / "restore"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo", "--clips", "24", "--days", "3")


def _counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_seeding_the_demo_again_changes_nothing(db: None, settings: Any, tmp_path: Path) -> None:
    _seed(settings, tmp_path)
    before = _counts()
    occurrences = dict(Alert.objects.values_list("key", "occurrences"))
    call_command("seed_demo", "--clips", "24", "--days", "3")
    after = _counts()
    assert {k: (v, after[k]) for k, v in before.items() if after[k] != v} == {}
    assert dict(Alert.objects.values_list("key", "occurrences")) == occurrences


@pytest.fixture
def demo(db: None, settings: Any, tmp_path: Path) -> Project:
    _seed(settings, tmp_path)
    project = Project.objects.get(code="DEMO")
    users = {u.username: u for u in get_user_model().objects.all()}
    clips = list(project.clips.order_by("pk").values_list("pk", flat=True)[:4])
    # Restores in several states, so their pages and the inbox have something to show.
    made = [
        restore_services.restore_request_create(
            actor=users[who],
            project=project,
            selection=restore_services.Selection(clips=(clip,)),
            target="editorial",
            reason="walk-through",
        )
        for who, clip in zip(["editor", "producer", "dit", "editor"], clips, strict=True)
    ]
    restore_services.restore_request_reject(actor=users["admin"], restore=made[1], comment="not now")
    restore_services.restore_request_withdraw(actor=users["dit"], restore=made[2])
    return project


@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_the_header_and_shows_no_internals(demo: Project, role: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username=role))
    queue: deque[str] = deque(["/", "/notifications/", "/notifications/settings/", "/api/docs/", "/api/"])
    queue.extend(["/restores/awaiting-approval/", "/no/such/page/", "/p/NOPE/"])
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    problems: list[str] = []
    pages = 0
    while queue and pages < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT="text/html")
        pages += 1
        if response.status_code in (301, 302):
            continue
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        body = response.content.decode()
        if not HEADER.search(body):
            problems.append(f"{url} ({response.status_code}): no navigation header")
        text = _visible_text(body)
        if url.startswith("/api/docs/"):
            text = ""  # Swagger UI draws itself in the browser; only its header is ours
        for pattern, what in ((ISO, "ISO timestamp"), (PY_REPR, "Python repr")):
            if found := pattern.search(text):
                problems.append(f"{url}: {what} {found.group(0)!r}")
        if "403 Forbidden" in text:
            problems.append(f"{url}: bare 403 Forbidden")
        if url.startswith("/api/"):
            continue  # the API browser's links are JSON endpoints: the API tests cover them
        for href in HREF.findall(body):
            target = urldefrag(html.unescape(href))[0]
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(SKIP):
                continue
            if target in seen or shapes[_shape(parts.path)] >= PER_SHAPE:
                continue
            shapes[_shape(parts.path)] += 1
            queue.append(target)
    assert pages > 20, f"only {pages} pages reached as {role}"
    assert not problems, "\n".join(problems)
