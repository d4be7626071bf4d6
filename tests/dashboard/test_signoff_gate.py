"""Sign-off advances permissions: released cards, and editorial restores that wait for the day's sign-off.

Through the pages and the API, as people use them: an editor's restore of day 1
footage, approved by an admin, waits (in words on the request and the clip)
until the producer signs day 1 off, then goes to its worker; reopening the day
takes both the cards and the restore back. Producers' and DITs' restores never
wait; with the project's rule off nothing waits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerts.models import Notification
from catalog.models import AuditEvent, Project
from restore.models import RestoreRequest
from restore.services import restore_request_run, restore_target_create
from tests.catalog.test_role_matrix import ALL
from tests.dashboard.conftest import Site
from tests.fixtures import PERSONAS, UserFactory


@pytest.fixture
def gated(site: Site, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """FILM with the rule on, an editorial target, and the broker replaced by a list of sent jobs."""
    settings.REELVAULT_RESTORE_ROOTS = [tmp_path]
    (tmp_path / "editorial").mkdir()
    # On another host: the web server does not check its free space (the clips are 100 GB).
    restore_target_create(
        actor=None, project=site.project, name="editorial", path=str(tmp_path / "editorial"), host="cart-2"
    )
    Project.objects.filter(pk=site.project.pk).update(restores_wait_for_signoff=True)
    sent: list[int] = []
    monkeypatch.setattr(
        "restore.services.requests.job_enqueue", lambda task, *, args, queue: sent.append(args[0])
    )
    site.sent = sent  # type: ignore[attr-defined]
    return site


def _request(site: Site, persona: str, clip: str = "A001C001") -> RestoreRequest:
    response = site.world.client(persona).post(
        "/api/restores/",
        {"project": "FILM", "clips": [site.clips[clip].pk], "target": "editorial", "reason": "recut"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return RestoreRequest.objects.get(pk=response.json()["id"])


def _approve(site: Site, restore: RestoreRequest, capture: Callable[..., Any]) -> RestoreRequest:
    with capture(execute=True):
        assert site.world.client("admin").post(f"/api/restores/{restore.pk}/approve/").status_code == 200
    restore.refresh_from_db()
    return restore


def test_an_editors_restore_waits_for_the_signoff_and_goes_when_the_day_is_signed_off(
    gated: Site, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    site = gated
    restore = _request(site, "editor")
    editor = site.world.client("editor")
    # Before approval the request already says it will wait.
    page = editor.get(f"/restores/{restore.pk}/").content.decode()
    assert "Once approved, it will wait for the sign-off of day 1" in page

    restore = _approve(site, restore, django_capture_on_commit_callbacks)
    assert restore.state == "waiting" and site.sent == []  # type: ignore[attr-defined]
    page = editor.get(f"/restores/{restore.pk}/").content.decode()
    assert "Waiting for sign-off" in page and "Approved, and waiting for the sign-off of day 1" in page
    clip_page = editor.get(f"/clips/{site.clips['A001C001'].pk}/").content.decode()
    assert (
        "Waiting for sign-off: a restore of this clip you ask for starts only once day 1 is signed off"
        in (clip_page)
    )
    assert Notification.objects.filter(user=site.world.users["editor"], kind="restore.waiting").exists()
    detail = editor.get(f"/api/restores/{restore.pk}/").json()
    assert (detail["state"], detail["waiting_for_signoff"]) == ("waiting", [1])
    # The producer's day page names the restore that waits.
    day_page = site.world.client("producer").get("/p/FILM/days/1/").content.decode()
    assert "1 restore waits for this sign-off" in day_page and f"restore {restore.pk}" in day_page

    # The producer signs day 1 off: the cards are released, the restore goes to its worker.
    with django_capture_on_commit_callbacks(execute=True):
        response = site.world.client("producer").post("/p/FILM/days/1/signoff/", {"unit": "main"})
    assert response.status_code == 302
    restore.refresh_from_db()
    assert restore.state == "queued" and site.sent == [restore.pk]  # type: ignore[attr-defined]
    assert editor.get(f"/api/restores/{restore.pk}/").json()["waiting_for_signoff"] == []
    day_page = site.world.client("producer").get("/p/FILM/days/1/").content.decode()
    assert "Released for reformat" in day_page and 'A001</span>, <span class="card-label">B001' in day_page
    told = Notification.objects.get(user=site.world.users["dit"], kind="day.signed_off")
    assert "A001, B001" in told.body
    assert "Waiting for sign-off" not in editor.get(f"/clips/{site.clips['A001C001'].pk}/").content.decode()

    # Reopened before a worker took it: the cards are taken back and the restore waits again.
    with django_capture_on_commit_callbacks(execute=True):
        site.world.client("producer").post(
            "/p/FILM/days/1/reopen/", {"unit": "main", "reason": "LTO-1 failed"}
        )
    restore.refresh_from_db()
    assert restore.state == "waiting"
    day_page = site.world.client("producer").get("/p/FILM/days/1/").content.decode()
    assert "No card of this day is released for reformat" in day_page and "do not reformat" in day_page
    assert "Released for reformat" not in day_page
    actions = list(
        AuditEvent.objects.filter(object_type="restore.restorerequest", object_id=str(restore.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-4:] == [
        "restore.wait_for_signoff",
        "restore.release",
        "restore.queue",
        "restore.wait_for_signoff",
    ]


def test_the_runner_does_not_start_a_restore_whose_day_was_reopened_after_it_was_queued(
    gated: Site, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    site = gated
    restore = _approve(site, _request(site, "editor"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        site.world.client("producer").post("/p/FILM/days/1/signoff/", {"unit": "main"})
    restore.refresh_from_db()
    assert restore.state == "queued"
    # The day is reopened, but the hold after the commit was lost (say, the web process died).
    from catalog.models import DaySignOff

    DaySignOff.objects.create(
        day=site.days[1], action="reopen", actor_name="producer", at=restore.queued_at, comment="lost"
    )
    assert restore_request_run(request_id=restore.pk) is None
    restore.refresh_from_db()
    assert restore.state == "waiting" and restore.started_at is None


@pytest.mark.parametrize(
    ("persona", "target", "waits"),
    [
        ("editor", "editorial", True),
        ("colorist", "colour", True),
        ("vfx", "vfx", True),
        ("producer", "editorial", False),
        ("dit", "editorial", False),
        ("admin", "editorial", False),
    ],
)
def test_role_matrix_of_waiting_for_signoff(
    gated: Site,
    persona: str,
    target: str,
    waits: bool,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """Editorial roles wait for the sign-off; the roles that run the day (RESTORE_BEFORE_SIGNOFF) never do."""
    site = gated
    root = Path(settings.REELVAULT_RESTORE_ROOTS[0])
    if target != "editorial":
        (root / target).mkdir()
        restore_target_create(
            actor=None, project=site.project, name=target, path=str(root / target), host="cart-2"
        )
    response = site.world.client(persona).post(
        "/api/restores/",
        {"project": "FILM", "clips": [site.clips["A001C001"].pk], "target": target, "reason": "look"},
        format="json",
    )
    assert response.status_code == 201, response.content
    restore = RestoreRequest.objects.get(pk=response.json()["id"])
    approver = "admin"
    if persona == "admin":  # nobody approves their own: another admin does
        site.world.users["admin2"] = UserFactory(username="admin2", is_superuser=True)
        approver = "admin2"
    with django_capture_on_commit_callbacks(execute=True):
        assert site.world.client(approver).post(f"/api/restores/{restore.pk}/approve/").status_code == 200
    restore.refresh_from_db()
    assert restore.state == ("waiting" if waits else "queued")
    waited = AuditEvent.objects.filter(action="restore.wait_for_signoff", object_id=str(restore.pk))
    assert waited.exists() == waits


def test_with_the_rule_off_editorial_restores_start_once_approved(
    gated: Site, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    site = gated
    waiting = _approve(site, _request(site, "editor"), django_capture_on_commit_callbacks)
    assert waiting.state == "waiting"
    # Turning the rule off lets what it held go.
    with django_capture_on_commit_callbacks(execute=True):
        response = site.world.client("producer").post("/p/FILM/dashboard/restore-rule/", {"wait": "0"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == "queued"
    page = site.world.client("producer").get("/p/FILM/dashboard/").content.decode()
    assert "editorial restores start once approved, whether or not the day is signed off" in page
    later = _approve(site, _request(site, "editor", "A001C002"), django_capture_on_commit_callbacks)
    assert later.state == "queued"


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_the_restore_rule(site: Site, persona: str) -> None:
    """Producers and admins turn the rule on; other members are refused (403, audited); outsiders get 404."""
    before = AuditEvent.objects.count()
    response = site.world.client(persona).post("/p/FILM/dashboard/restore-rule/", {"wait": "1"})
    site.project.refresh_from_db()
    if persona in {"admin", "producer"}:
        assert response.status_code == 302 and site.project.restores_wait_for_signoff
        assert AuditEvent.objects.filter(action="project.restore_rule_set").count() == 1
    elif persona in ALL:
        assert response.status_code == 403 and not site.project.restores_wait_for_signoff
        assert AuditEvent.objects.filter(action="project.restore_rule_set_refused").count() == 1
    else:
        assert response.status_code == 404 and AuditEvent.objects.count() == before
    # Every member sees the rule in words on the dashboard; only producers and admins get the button.
    page = site.world.client(persona).get("/p/FILM/dashboard/")
    if persona in ALL:
        text = page.content.decode()
        assert "Restores and sign-off" in text
        assert ("Make editorial restores wait" in text or "Let editorial restores start" in text) == (
            persona in {"admin", "producer"}
        )
