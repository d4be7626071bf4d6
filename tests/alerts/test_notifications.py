"""Notifications: in-app rows, the page listing them, email delivery (locmem and a real SMTP server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from alerts.models import Delivery, Notification
from alerts.services import notifications_deliver, notifications_deliver_pending, notify
from tests.fixtures import World


def test_notify_creates_one_row_per_distinct_active_user(world: World) -> None:
    editor, admin = world.users["editor"], world.users["admin"]
    viewer = world.users["viewer"]
    viewer.is_active = False
    viewer.save()
    rows = notify(
        users=[editor, admin, editor, viewer],
        subject="Restore 7 verified",
        body="All files are at the target.",
        link="/restores/7/",
        project=world.project,
        kind="restore.verified",
    )
    assert {r.user_id for r in rows} == {editor.pk, admin.pk}
    assert Notification.objects.filter(kind="restore.verified").count() == 2


def test_the_page_lists_only_ones_own_and_marks_them_read(world: World) -> None:
    notify(users=[world.users["editor"]], subject="For the editor", body="b", project=world.project)
    notify(users=[world.users["dit"]], subject="For the DIT", body="b", project=world.project)
    client = world.client("editor")
    page = client.get("/notifications/").content.decode()
    assert "For the editor" in page and "For the DIT" not in page and "1 unread" in page
    response = client.post("/notifications/read/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=world.users["editor"], read_at__isnull=True).exists()
    assert Notification.objects.filter(user=world.users["dit"], read_at__isnull=True).exists()
    assert "0 unread" in client.get("/notifications/").content.decode()


def test_delivery_emails_once_and_skips_users_without_address(world: World, settings: Any) -> None:
    settings.REELVAULT_BASE_URL = "https://vault.example.test"
    world.users["dit"].email = ""
    world.users["dit"].save()
    rows = notify(
        users=[world.users["editor"], world.users["dit"]],
        subject="Copy corrupt",
        body="RAID-A holds a bad copy.",
        link="/restores/3/",
        project=world.project,
    )
    ids = [r.pk for r in rows]
    assert notifications_deliver(notification_ids=ids) == 1
    assert notifications_deliver(notification_ids=ids) == 0
    (message,) = mail.outbox
    assert message.to == ["editor@example.test"] and message.subject == "[Reelvault] Copy corrupt"
    assert "https://vault.example.test/restores/3/" in message.body
    dit_row = Notification.objects.get(user=world.users["dit"])
    assert dit_row.emailed_at is None and "no email address" in dit_row.email_error
    assert Notification.objects.get(user=world.users["editor"]).emailed_at is not None


def test_a_failed_delivery_is_recorded_and_retried_by_the_sweep(world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    (row,) = notify(users=[world.users["editor"]], subject="s", body="b", project=world.project)
    assert notifications_deliver(notification_ids=[row.pk]) == 0
    row.refresh_from_db()
    assert row.emailed_at is None and row.email_attempts == 1 and "Connection" in row.email_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Delivery.objects.filter(notification=row).update(created_at=row.created_at.replace(year=2020))
    assert notifications_deliver_pending() == 1
    assert len(mail.outbox) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def test_notification_email_reaches_a_real_smtp_server(
    world: World, settings: Any, smtp_server: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "reelvault@vault.example.test"
    (row,) = notify(
        users=[world.users["admin"]],
        subject="Restore 12 of FILM: requested, waiting for approval",
        body="editor asks to restore 3 files.",
        link="/restores/12/",
        project=world.project,
    )
    assert notifications_deliver(notification_ids=[row.pk]) == 1
    ((sender, recipients, content),) = inbox.messages
    assert sender == "reelvault@vault.example.test" and recipients == ["admin@example.test"]
    message = message_from_bytes(content)
    assert message["Subject"] == "[Reelvault] Restore 12 of FILM: requested, waiting for approval"
    assert "editor asks to restore 3 files." in message.get_payload()
    row.refresh_from_db()
    assert row.emailed_at is not None and row.email_error == ""
