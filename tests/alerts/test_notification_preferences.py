"""Each user's choice of in-app and email notifications, set on their page and followed by notify()."""

from __future__ import annotations

import re

import pytest

from alerts.models import Delivery, Notification, NotificationPreference
from alerts.services import notify
from catalog.models import AuditEvent
from tests.fixtures import World


def _bell(html: str) -> str | None:
    found = re.search(r'class="bell".*?<span class="count">(\d+)', html, re.S)
    return found.group(1) if found else None


def test_by_default_a_user_is_told_in_the_app_and_by_email(world: World) -> None:
    notify(users=[world.users["dit"]], subject="Card A001 offloaded", body="b", project=world.project)
    note = Notification.objects.get(user=world.users["dit"])
    assert note.read_at is None
    assert Delivery.objects.filter(notification=note, kind=Delivery.Kind.EMAIL).count() == 1
    assert _bell(world.client("dit").get("/notifications/").content.decode()) == "1"


def test_the_settings_page_saves_the_choice_and_audits_it(world: World) -> None:
    client = world.client("editor")
    page = client.get("/notifications/settings/").content.decode()
    assert 'name="in_app" checked' in page and 'name="email" checked' in page
    response = client.post("/notifications/settings/", {"in_app": "on"})
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=world.users["editor"])
    assert pref.in_app and not pref.email
    event = AuditEvent.objects.get(action="notification.preference_set")
    assert event.before == {"in_app": True, "email": True} and event.after == {"in_app": True, "email": False}
    assert 'name="email" checked' not in client.get("/notifications/settings/").content.decode()


@pytest.mark.parametrize(
    ("in_app", "email", "rows", "unread", "emails"),
    [(True, False, 1, 1, 0), (False, True, 1, 0, 1), (False, False, 0, 0, 0)],
)
def test_notify_follows_the_choice(
    world: World, in_app: bool, email: bool, rows: int, unread: int, emails: int
) -> None:
    editor = world.users["editor"]
    NotificationPreference.objects.create(user=editor, in_app=in_app, email=email)
    notify(users=[editor, world.users["dit"]], subject="Restore 1: verified", body="b", project=world.project)
    mine = Notification.objects.filter(user=editor)
    assert mine.count() == rows
    assert mine.filter(read_at__isnull=True).count() == unread
    assert Delivery.objects.filter(user_id=editor.pk).count() == emails
    # Someone else's default is untouched.
    assert Notification.objects.filter(user=world.users["dit"], read_at__isnull=True).count() == 1
    assert _bell(world.client("editor").get("/notifications/").content.decode()) == (
        str(unread) if unread else None
    )
