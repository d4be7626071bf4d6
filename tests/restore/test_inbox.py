"""The admin's "awaiting my approval" inbox, bulk decisions in the page, withdrawing and expiry.

The role matrix covers the new pages and endpoints the same way as
test_role_matrix.py (status and whether an audit entry was written); the
behaviour tests go through the pages, the API and the beat task's service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Notification
from catalog.models import AuditEvent
from restore import services
from restore.models import RestoreRequest
from tests.fixtures import PERSONAS
from tests.restore.conftest import Media


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[RestoreRequest], str]
    allowed: set[str]
    data: dict[str, Any] | None = None
    ok: int = 200
    outsider: int = 404
    writes: bool = False
    audits_refusal: bool = False


# The pending request was made by the editor (fixture below); the outsider is an admin of another project.
CASES = [
    Case("inbox page", "get", lambda r: "/restores/awaiting-approval/", {"admin", "outsider"}, outsider=200),
    Case(
        "inbox approve",
        "post",
        lambda r: "/restores/awaiting-approval/",
        {"admin"},
        data={"action": "approve", "id": "{id}"},
        ok=302,
        writes=True,
        outsider=302,  # may use the inbox, but the request is not found for them: nothing written
    ),
    Case(
        "withdraw page",
        "post",
        lambda r: f"/restores/{r.pk}/withdraw/",
        {"editor"},
        ok=302,
        writes=True,
        audits_refusal=True,
    ),
    Case(
        "withdraw api",
        "post",
        lambda r: f"/api/restores/{r.pk}/withdraw/",
        {"editor"},
        data={"reason": "found it on the NAS"},
        writes=True,
        audits_refusal=True,
    ),
    Case(
        "notification settings page", "get", lambda r: "/notifications/settings/", {*PERSONAS}, outsider=200
    ),
]


@pytest.fixture
def pending(media: Media) -> RestoreRequest:
    return services.restore_request_create(
        actor=media.world.users["editor"],
        project=media.world.project,
        selection=services.Selection(scene="42"),
        target="editorial",
        reason="director's cut",
    )


def _fill(data: dict[str, Any] | None, restore: RestoreRequest) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: (str(restore.pk) if v == "{id}" else v) for k, v in data.items()}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_role_matrix(media: Media, pending: RestoreRequest, case: Case, persona: str) -> None:
    client = media.world.client(persona)
    url = case.url(pending)
    audit_before = AuditEvent.objects.count()
    kwargs = {"format": "json"} if url.startswith("/api/") else {}
    response = getattr(client, case.method)(url, _fill(case.data, pending), **kwargs)
    if persona in case.allowed:
        expected = case.ok if persona != "outsider" else case.outsider
    else:
        expected = case.outsider if persona == "outsider" else 403
    assert response.status_code == expected, response.content[:400]
    wrote = AuditEvent.objects.count() > audit_before
    member_refused = persona not in case.allowed and persona != "outsider"
    allowed_write = case.writes and persona in case.allowed and persona != "outsider"
    assert wrote == (allowed_write or (case.audits_refusal and member_refused))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_sent_to_log_in(media: Media, pending: RestoreRequest, case: Case) -> None:
    url = case.url(pending)
    response = getattr(media.world.client("anonymous"), case.method)(url, _fill(case.data, pending))
    if url.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and "/login/" in response["Location"]


def _request(media: Media, who: str, scene: str = "42") -> RestoreRequest:
    return services.restore_request_create(
        actor=media.world.users[who],
        project=media.world.project,
        selection=services.Selection(scene=scene),
        target="editorial",
        reason=f"needed by {who}",
    )


def _header_count(html: str, css_class: str) -> str | None:
    found = re.search(rf'class="{css_class}"[^>]*>.*?<span class="count"[^>]*>(\d+)', html, re.S)
    return found.group(1) if found else None


def test_the_inbox_lists_what_the_admin_may_decide_and_the_header_counts_it(media: Media) -> None:
    by_editor = _request(media, "editor")
    by_producer = _request(media, "producer")
    own = _request(media, "admin")  # never one's own
    client = media.world.client("admin")

    response = client.get("/restores/awaiting-approval/")
    html = response.content.decode()
    assert f"Restore {by_editor.pk}" in html and f"Restore {by_producer.pk}" in html
    assert f"Restore {own.pk}<" not in html
    assert _header_count(html, "inbox-link") == "2"
    # The editor does not approve: no Approvals link at all in their header.
    assert "Approvals" not in media.world.client("editor").get("/notifications/").content.decode()


def test_the_header_counts_cost_one_query(media: Media, django_assert_num_queries: Any, client: Any) -> None:
    from reelvault.header import header_counts

    _request(media, "editor")
    with django_assert_num_queries(1):
        counts = header_counts(user=media.world.users["admin"])
    assert counts.awaiting == 1 and counts.approves and counts.unread >= 1


def test_bulk_approve_in_the_page_decides_each_and_reports_what_was_refused(media: Media) -> None:
    first, second = _request(media, "editor"), _request(media, "producer")
    own = _request(media, "admin")
    client = media.world.client("admin")
    response = client.post(
        "/restores/awaiting-approval/",
        {"action": "approve", "id": [str(first.pk), str(second.pk), str(own.pk)], "comment": "go"},
        follow=True,
    )
    html = response.content.decode()
    assert f"Approved 2 requests: {first.pk}, {second.pk}." in html
    assert f"Restore {own.pk}: nobody approves or rejects their own restore request" in html
    states = dict(RestoreRequest.objects.values_list("pk", "state"))
    assert states[first.pk] != RestoreRequest.State.REQUESTED
    assert states[second.pk] != RestoreRequest.State.REQUESTED
    assert states[own.pk] == RestoreRequest.State.REQUESTED
    assert AuditEvent.objects.filter(action="restore.approve_refused", object_id=str(own.pk)).exists()


def test_bulk_reject_needs_a_comment_and_tells_each_requester(media: Media) -> None:
    first, second = _request(media, "editor"), _request(media, "producer")
    client = media.world.client("admin")
    ids = [str(first.pk), str(second.pk)]
    html = client.post("/restores/awaiting-approval/", {"action": "reject", "id": ids}, follow=True)
    assert "Say why the requests are rejected" in html.content.decode()
    assert RestoreRequest.objects.filter(state=RestoreRequest.State.REJECTED).count() == 0

    client.post("/restores/awaiting-approval/", {"action": "reject", "id": ids, "comment": "not in budget"})
    assert RestoreRequest.objects.filter(state=RestoreRequest.State.REJECTED).count() == 2
    for restore, who in ((first, "editor"), (second, "producer")):
        note = Notification.objects.filter(user=media.world.users[who], link=f"/restores/{restore.pk}/")
        assert note.filter(kind="restore.rejected", body__contains="not in budget").count() == 1


def test_bulk_reject_api_answers_per_request(media: Media) -> None:
    first = _request(media, "editor")
    response = media.world.client("admin").post(
        "/api/restores/bulk-reject/", {"ids": [first.pk, 999999], "comment": "no"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["rejected"] == 1
    assert [r["status"] for r in body["results"]] == [200, 404]


def test_one_approval_makes_one_notification_for_the_requester(media: Media) -> None:
    restore = _request(media, "editor")
    media.world.client("admin").post(f"/restores/{restore.pk}/approve/", {"comment": ""})
    # Approving queues it after the commit (which the test transaction does not run): queue it here.
    services.restore_request_queue(request_id=restore.pk)
    restore.refresh_from_db()
    assert restore.state == RestoreRequest.State.QUEUED
    notes = Notification.objects.filter(user=media.world.users["editor"], link=f"/restores/{restore.pk}/")
    # "requested" is not sent to the requester's own bell twice: one for the request, one for the decision.
    assert list(notes.order_by("created_at", "pk").values_list("kind", flat=True)) == [
        "restore.requested",
        "restore.approved",
    ]


def test_the_requester_withdraws_a_pending_request_and_the_admins_hear_of_it(media: Media) -> None:
    restore = _request(media, "editor")
    client = media.world.client("editor")
    page = client.get(f"/restores/{restore.pk}/").content.decode()
    assert "Withdraw this request" in page
    response = client.post(f"/restores/{restore.pk}/withdraw/", {"reason": "found on the NAS"}, follow=True)
    html = response.content.decode()
    assert "Withdrawn by the requester" in html and "Withdraw this request" not in html
    assert AuditEvent.objects.filter(action="restore.withdraw", object_id=str(restore.pk)).count() == 1
    admin_note = Notification.objects.get(user=media.world.users["admin"], kind="restore.withdrawn")
    assert "found on the NAS" in admin_note.body
    # No longer in the admin's inbox; withdrawing twice is a conflict.
    assert (
        f"Restore {restore.pk}"
        not in media.world.client("admin").get("/restores/awaiting-approval/").content.decode()
    )
    again = client.post(f"/api/restores/{restore.pk}/withdraw/", {}, format="json")
    assert again.status_code == 409


def test_an_approved_request_can_no_longer_be_withdrawn(media: Media) -> None:
    restore = _request(media, "editor")
    services.restore_request_approve(actor=media.world.users["admin"], restore=restore)
    response = media.world.client("editor").post(f"/api/restores/{restore.pk}/withdraw/", {}, format="json")
    assert response.status_code == 409
    assert "only a request still waiting for approval" in response.json()["detail"]


def test_undecided_requests_expire_after_the_ttl_and_the_requester_is_told(
    media: Media, settings: Any
) -> None:
    settings.REELVAULT_RESTORE_REQUEST_TTL_HOURS = 48
    old, recent = _request(media, "editor"), _request(media, "producer")
    RestoreRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=49))

    assert services.restore_requests_expire() == [old.pk]
    assert services.restore_requests_expire() == []  # safe to run again
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.state == RestoreRequest.State.EXPIRED and recent.state == RestoreRequest.State.REQUESTED
    note = Notification.objects.get(user=media.world.users["editor"], kind="restore.expired")
    assert "within 48 hours" in note.body
    assert AuditEvent.objects.filter(action="restore.expire", object_id=str(old.pk)).count() == 1
    page = media.world.client("editor").get(f"/restores/{old.pk}/").content.decode()
    assert "Expired without a decision" in page


def test_expiry_is_off_with_a_ttl_of_zero(media: Media, settings: Any) -> None:
    settings.REELVAULT_RESTORE_REQUEST_TTL_HOURS = 0
    old = _request(media, "editor")
    RestoreRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=365))
    assert services.restore_requests_expire() == []
