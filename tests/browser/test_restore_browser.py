"""A restore from request to verified files, in a real Chromium with a real Celery worker.

An editor asks for a clip back through the pages and cannot approve the
request; an admin, in a browser context of their own, approves it; a Celery
worker subprocess runs it while the admin's page follows it through htmx
until it is verified, with no reload. Truth then comes from outside the pages:
the restored bytes hashed here with SHA-256 against the verified copy, the
request's row and the audit log. A viewer sees no restore controls and is
refused the restore pages. A screenshot of the finished request is saved as
``artifacts/restore-verified.png``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from catalog.audit import audit_chain_verify
from catalog.models import AuditEvent, Copy
from restore.models import RestoreRequest
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import WorkerProcess, World
from tests.restore.conftest import Media, build_media

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

#: How long the pages may take to show what the worker did (ms): generous, the machine is shared.
WORKER_TIMEOUT = 60_000
#: One clip of two 8 MB files, copied at 2 MB/s: the job runs for seconds, long enough for the
#: page's one-second polling to show it running.
FILE_SIZES = [[8_000_000, 8_000_000]]
THROTTLE_BPS = 2_000_000


@pytest.fixture
def host(settings: Any) -> str:
    """A host name of our own, so the job goes to a queue no other test run consumes."""
    name = f"rb-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name
    return name


@pytest.fixture
def media(transactional_db: None, world: World, tmp_path: Path, host: str) -> Media:
    return build_media(world, tmp_path / "media", host=host, sizes=FILE_SIZES)


@pytest.fixture
def worker(host: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> WorkerProcess:
    """A real `celery worker` subprocess on our host's queue, throttled so the job can be watched."""
    monkeypatch.setenv("REELVAULT_RESTORE_THROTTLE_BPS", str(THROTTLE_BPS))
    # Asked for here, after `host`, so the worker consumes our host's queue.
    worker: WorkerProcess = request.getfixturevalue("celery_worker_proc")
    return worker


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_an_editor_requests_an_admin_approves_and_the_worker_restores_a_clip(
    media: Media, worker: WorkerProcess, live_server: Any, browser: Browser
) -> None:
    try:
        restore_id = restore_session(media, live_server.url, browser)
        check_outcome(media, restore_id)
    finally:
        # Inside Playwright's sync API the test body's queries use a connection of
        # their own (asgiref's Local follows contexts) that no fixture would close.
        connections.close_all()


def restore_session(media: Media, base_url: str, browser: Browser) -> int:
    clip = media.clips[0]

    # 1. The editor opens the clip from the project page and asks for it back.
    editor = log_in(browser, base_url, "editor")
    editor.get_by_role("link", name="Projects", exact=True).click()
    editor.get_by_role("link", name="FILM", exact=True).click()
    editor.get_by_role("link", name=clip.name, exact=True).click()
    expect(editor.get_by_role("heading", level=1)).to_have_text(clip.name)
    editor.locator("#restore").get_by_role("link", name="Request restore").click()
    expect(editor.get_by_role("heading", level=1)).to_have_text("Request a restore — FILM")
    expect(editor.get_by_label("The selected clips")).to_be_checked()
    expect(editor.locator("#selection-preview")).to_contain_text(clip.name)
    editor.get_by_label("Target").select_option("editorial")
    editor.get_by_label("Reason").fill("the conform needs the camera originals")
    editor.get_by_role("button", name="Request restore").click()

    expect(editor).to_have_url(re.compile(r"/restores/\d+/$"))
    match = re.search(r"/restores/(\d+)/$", editor.url)
    assert match is not None
    restore_id = int(match.group(1))
    expect(editor.locator(".messages")).to_contain_text(f"Restore {restore_id} requested")
    expect(editor.locator("#restore-state")).to_have_text("Requested")
    expect(editor.locator("#progress")).to_contain_text("0 / 2")

    # 2. The requester has no approve control, and a forged approval is refused (403).
    expect(editor.get_by_role("heading", name="Your decision")).to_have_count(0)
    expect(editor.get_by_role("button", name="Approve")).to_have_count(0)
    token = editor.locator("form.logout input[name=csrfmiddlewaretoken]").input_value()
    forged = editor.request.post(
        f"{base_url}/restores/{restore_id}/approve/", form={"csrfmiddlewaretoken": token, "comment": "mine"}
    )
    # Refused by the app itself, not by the CSRF check (the audit log below has the refusal).
    # The app's page says why (the header's htmx CSRF token is on every page, so look for the reason).
    assert forged.status == 403 and "CSRF verification failed" not in forged.text()
    assert "Your role (editor) cannot approve or reject restores" in forged.text()
    editor.reload()
    expect(editor.locator("#restore-state")).to_have_text("Requested")

    # 3. An admin, in a browser context of their own, finds the request and approves it.
    admin = log_in(browser, base_url, "admin")
    admin.get_by_role("link", name="Projects", exact=True).click()
    admin.get_by_role("link", name="FILM", exact=True).click()
    admin.get_by_role("link", name="Restores", exact=True).click()
    admin.get_by_role("link", name=str(restore_id), exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Restore {restore_id} of FILM")
    expect(admin.locator("#restore-state")).to_have_text("Requested")
    admin.get_by_label("Comment").fill("go ahead")
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator(".messages")).to_contain_text(f"Restore {restore_id}:")
    expect(admin.get_by_role("button", name="Approve")).to_have_count(0)

    # 4. The worker runs it; the open page follows through htmx. A mark on the window
    # proves there is no reload: a new document would not carry it.
    admin.evaluate("window.reelvaultNoReload = true")
    progress = admin.locator("#progress")
    expect(progress).to_contain_text(
        re.compile(r"Running.*Current file\s*A001/", re.DOTALL), timeout=WORKER_TIMEOUT
    )
    expect(admin.locator("#restore-state")).to_have_text("Verified", timeout=WORKER_TIMEOUT)
    expect(progress).to_contain_text("100%")
    expect(progress).to_contain_text("2 / 2")
    expect(progress.locator("tbody tr")).to_have_count(2)
    expect(progress.locator("tbody tr.state-verified")).to_have_count(2)
    expect(progress).to_contain_text("ASC MHL")
    assert admin.evaluate("window.reelvaultNoReload === true")
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "restore-verified.png"), full_page=True)

    # The requester opening the request again sees it done.
    editor.get_by_role("link", name="All restores of FILM").click()
    editor.get_by_role("link", name=str(restore_id), exact=True).click()
    expect(editor.locator("#restore-state")).to_have_text("Verified")

    # 6. A viewer sees no restore action on the clip and is refused the restore pages.
    viewer_session(media, base_url, browser, restore_id)
    for page in (editor, admin):
        page.close()
    return restore_id


def viewer_session(media: Media, base_url: str, browser: Browser, restore_id: int) -> None:
    clip = media.clips[0]
    viewer: Page = log_in(browser, base_url, "viewer")
    viewer.goto(f"{base_url}/clips/{clip.pk}/")
    expect(viewer.get_by_role("heading", level=1)).to_have_text(clip.name)
    expect(viewer.locator("#restore")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Request restore")).to_have_count(0)
    for path in (f"/restores/{restore_id}/", f"/p/FILM/restores/new/?clips={clip.pk}", "/p/FILM/restores/"):
        response = viewer.goto(f"{base_url}{path}")
        assert response is not None and response.status == 403, path
        expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
        expect(viewer.get_by_role("button", name="Request restore")).to_have_count(0)
    viewer.close()


def check_outcome(media: Media, restore_id: int) -> None:
    """5. What the pages said is true on disk, in the request's row and in the audit log."""
    restore = RestoreRequest.objects.select_related("target").get(pk=restore_id)
    assert restore.state == RestoreRequest.State.VERIFIED, restore.error
    assert restore.requester == media.world.users["editor"]
    assert restore.selection == {"clips": [media.clips[0].pk]}
    assert restore.file_count == 2 and restore.files_done == 2
    assert restore.bytes_done == restore.size_bytes == sum(sum(sizes) for sizes in FILE_SIZES)
    assert list(restore.approvals.values_list("approver__username", "decision")) == [("admin", "approve")]

    folder = Path(restore.target.path) / restore.folder
    assert folder.parent == Path(media.targets["editorial"].path)
    for media_file in media.clips[0].files.all():
        verified = Copy.objects.get(media_file=media_file, volume=media.raid, state=Copy.State.VERIFIED)
        restored = folder / media.card.label / media_file.relative_path
        assert restored.is_file(), restored
        assert sha256(restored) == sha256(Path(media.raid.location) / verified.path)
        assert sha256(restored) == hashlib.sha256(media.content[media_file.pk]).hexdigest()
    assert (folder / "ascmhl").is_dir()

    events = list(
        AuditEvent.objects.filter(object_type="restore.restorerequest", object_id=str(restore_id))
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert events == [
        ("restore.request", "editor"),
        ("restore.approve_refused", "editor"),
        ("restore.approve", "admin"),
        ("restore.queue", "system"),
        ("restore.start", "system"),
        ("restore.finish", "system"),
    ]
    finish = AuditEvent.objects.get(action="restore.finish", object_id=str(restore_id))
    assert finish.after is not None and finish.after["state"] == "verified" and finish.after["verified"] == 2
    refused = AuditEvent.objects.get(action="restore.approve_refused", object_id=str(restore_id))
    # An editor may not approve at all, so the role is the reason given (before "your own request").
    assert refused.after == {"reason": "your role (editor) cannot approve or reject restores"}
    # The viewer's refused page visits wrote nothing, and the chain is intact.
    assert not AuditEvent.objects.filter(actor_name="viewer").exists()
    assert audit_chain_verify().breaks == []
