"""Restore requests and approvals through the API: rules, refusals (403 + audit), notifications."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from alerts.models import Notification
from alerts.services import notifications_deliver
from catalog.models import AuditEvent, Membership
from restore.models import RestoreApproval, RestoreRequest, RestoreTarget
from tests.fixtures import UserFactory
from tests.restore.conftest import Media


def request_restore(media: Media, persona: str = "editor", **data: Any) -> Any:
    body = {
        "clips": [media.clips[0].pk],
        "target": "editorial",
        "reason": "editor needs the originals",
        **data,
    }
    return media.world.client(persona).post("/api/restores/", body, format="json")


def last_audit(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


def test_editor_requests_a_scene_and_gets_201_with_id_and_state(media: Media) -> None:
    response = request_restore(media, clips={"scene": "42"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "requested" and body["id"]
    restore = RestoreRequest.objects.get(pk=body["id"])
    assert restore.project == media.world.project and restore.requester == media.world.users["editor"]
    assert restore.file_count == 3 and restore.size_bytes == sum(f.size for f in media.files)
    assert restore.required_approvals == 1
    assert sorted(restore.items.values_list("path", flat=True)) == sorted(
        f"A001/{f.relative_path}" for f in media.files
    )
    event = last_audit("restore.request")
    assert event.actor_name == "editor" and event.object_id == str(restore.pk)
    # The admin is asked to approve; the requester gets a confirmation.
    notified = set(
        Notification.objects.filter(kind="restore.requested").values_list("user__username", flat=True)
    )
    assert notified == {"admin", "editor"}


def test_clip_ids_without_project_infer_it_and_the_detail_shows_items(media: Media) -> None:
    restore_id = request_restore(media).json()["id"]
    detail = media.world.client("dit").get(f"/api/restores/{restore_id}/").json()
    assert detail["project"] == "FILM" and detail["target"] == "editorial"
    assert [i["state"] for i in detail["items"]] == ["pending", "pending"]
    assert {"bytes_done", "percent", "eta_seconds", "files_done"} <= set(detail)


@pytest.mark.parametrize(
    "selector,expected_files",
    [({"scene": "42"}, 3), ({"card": "A001"}, 3), ({"day": 1}, 3), ([0], 2)],
    ids=["scene", "card", "day", "clip ids"],
)
def test_every_kind_of_selector(media: Media, selector: Any, expected_files: int) -> None:
    clips = [media.clips[0].pk] if selector == [0] else selector
    response = request_restore(media, clips=clips)
    assert response.status_code == 201, response.content
    assert RestoreRequest.objects.get(pk=response.json()["id"]).file_count == expected_files


def test_approval_by_an_admin_queues_the_job_on_the_sources_host(
    media: Media, django_capture_on_commit_callbacks: Any
) -> None:
    restore_id = request_restore(media).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = media.world.client("admin").post(f"/api/restores/{restore_id}/approve/", {"comment": "go"})
    assert response.status_code == 200, response.content
    restore = RestoreRequest.objects.get(pk=restore_id)
    assert restore.state == "queued" and restore.host == media.host
    assert list(restore.approvals.values_list("approver__username", "decision", "comment")) == [
        ("admin", "approve", "go")
    ]
    assert [e.action for e in AuditEvent.objects.filter(object_id=str(restore_id)).order_by("id")] == [
        "restore.request",
        "restore.approve",
        "restore.queue",
    ]
    # One notification for the approval that queued it, not an "approved" and a "queued" one.
    kinds = list(Notification.objects.filter(user__username="editor").values_list("kind", flat=True))
    assert sorted(kinds) == ["restore.approved", "restore.requested"]


def test_nobody_approves_their_own_request_not_even_an_admin(media: Media) -> None:
    restore_id = request_restore(media, persona="admin").json()["id"]
    response = media.world.client("admin").post(f"/api/restores/{restore_id}/approve/", {})
    assert response.status_code == 403
    assert "own" in response.json()["detail"]
    event = last_audit("restore.approve_refused")
    assert event.actor_name == "admin" and event.object_id == str(restore_id)
    assert RestoreRequest.objects.get(pk=restore_id).state == "requested"
    assert not RestoreApproval.objects.exists()


def test_requester_without_approval_rights_is_refused_and_audited(media: Media) -> None:
    restore_id = request_restore(media).json()["id"]
    response = media.world.client("editor").post(f"/api/restores/{restore_id}/approve/", {})
    assert response.status_code == 403
    assert last_audit("restore.approve_refused").actor_name == "editor"


def test_another_projects_clips_are_refused_with_403_and_audited(media: Media) -> None:
    response = request_restore(media, clips=[media.clips[0].pk, media.world.other_clip.pk])
    assert response.status_code == 403, response.content
    event = last_audit("restore.request_refused")
    assert event.actor_name == "editor" and event.project_id == media.world.project.pk
    assert event.after["clips"] == [media.world.other_clip.pk]
    assert not RestoreRequest.objects.exists()


def test_unknown_clip_ids_answer_like_foreign_ones(media: Media) -> None:
    response = request_restore(media, project="FILM", clips=[999_999])
    assert response.status_code == 403
    assert last_audit("restore.request_refused").after["clips"] == [999_999]


def test_outsider_asking_for_this_projects_clips_to_its_own_target_is_refused(media: Media) -> None:
    other_target = RestoreTarget.objects.create(
        project=media.world.other_project, name="editorial", path=str(media.root / "other")
    )
    response = request_restore(media, persona="outsider", target=str(other_target.pk))
    assert response.status_code == 403
    event = last_audit("restore.request_refused")
    assert event.actor_name == "outsider" and event.project_id == media.world.other_project.pk


def test_a_target_outside_the_project_is_refused_with_403_and_audited(media: Media) -> None:
    foreign = RestoreTarget.objects.create(
        project=media.world.other_project, name="vfx", path=str(media.root / "foreign")
    )
    response = request_restore(media, project="FILM", target=str(foreign.pk))
    assert response.status_code == 403
    assert "not a target of project FILM" in response.json()["detail"]
    assert last_audit("restore.request_refused").after["target"] == str(foreign.pk)
    assert not RestoreRequest.objects.exists()


def test_outsider_naming_the_project_gets_404_and_no_audit(media: Media) -> None:
    before = AuditEvent.objects.count()
    response = request_restore(media, persona="outsider", project="FILM")
    assert response.status_code == 404
    assert AuditEvent.objects.count() == before


def test_unknown_target_name_and_missing_reason_are_400(media: Media) -> None:
    assert request_restore(media, target="colour").status_code == 400
    assert request_restore(media, reason=" ").status_code == 400
    assert request_restore(media, clips={"scene": "42", "day": 1}).status_code == 400
    assert not RestoreRequest.objects.exists()


def test_a_whole_day_needs_two_different_approvers(media: Media) -> None:
    second_admin = UserFactory(username="admin2")
    Membership.objects.create(user=second_admin, project=media.world.project, role_id="admin")
    restore_id = request_restore(media, clips={"day": 1}).json()["id"]
    restore = RestoreRequest.objects.get(pk=restore_id)
    assert restore.required_approvals == 2
    admin = media.world.client("admin")
    first = admin.post(f"/api/restores/{restore_id}/approve/", {"comment": "one"})
    assert first.status_code == 200 and first.json()["state"] == "requested"
    again = admin.post(f"/api/restores/{restore_id}/approve/", {"comment": "me again"})
    assert again.status_code == 403 and "different admin" in again.json()["detail"]
    assert last_audit("restore.approve_refused").actor_name == "admin"
    client = media.world.client("admin")
    client.force_login(second_admin)
    second = client.post(f"/api/restores/{restore_id}/approve/", {"comment": "two"})
    assert second.status_code == 200 and second.json()["state"] == "approved"
    assert RestoreApproval.objects.filter(request_id=restore_id).count() == 2


def test_requests_over_the_size_limit_need_a_second_approver(media: Media, settings: Any) -> None:
    settings.REELVAULT_RESTORE_SECOND_APPROVAL_BYTES = 200_000
    big = request_restore(media).json()["id"]  # 370 kB
    small = request_restore(media, clips=[media.clips[1].pk]).json()["id"]  # 150 kB
    assert RestoreRequest.objects.get(pk=big).required_approvals == 2
    assert RestoreRequest.objects.get(pk=small).required_approvals == 1


def test_reject_needs_a_comment_and_tells_the_requester(media: Media) -> None:
    restore_id = request_restore(media).json()["id"]
    admin = media.world.client("admin")
    assert admin.post(f"/api/restores/{restore_id}/reject/", {"comment": ""}).status_code == 400
    response = admin.post(f"/api/restores/{restore_id}/reject/", {"comment": "use the proxies"})
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    assert last_audit("restore.reject").after["comment"] == "use the proxies"
    note = Notification.objects.get(user__username="editor", kind="restore.rejected")
    assert "use the proxies" in note.body
    # A decided request cannot be approved any more.
    assert admin.post(f"/api/restores/{restore_id}/approve/", {}).status_code == 409


def test_bulk_approval_answers_for_each_request(media: Media) -> None:
    a = request_restore(media).json()["id"]
    b = request_restore(media, clips=[media.clips[1].pk]).json()["id"]
    own = request_restore(media, persona="admin").json()["id"]
    foreign_restore = RestoreRequest.objects.create(
        project=media.world.other_project,
        target=RestoreTarget.objects.create(project=media.world.other_project, name="x", path="/tmp/x"),
        reason="theirs",
    )
    response = media.world.client("admin").post(
        "/api/restores/bulk-approve/",
        {"ids": [a, b, own, foreign_restore.pk], "comment": "batch"},
        format="json",
    )
    assert response.status_code == 200
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[a]["ok"] and results[a]["state"] == "approved"
    assert results[b]["ok"] and results[b]["state"] == "approved"
    assert results[own]["status"] == 403 and not results[own]["ok"]
    assert results[foreign_restore.pk]["status"] == 404
    assert response.json()["approved"] == 2
    assert RestoreRequest.objects.get(pk=own).state == "requested"
    assert RestoreRequest.objects.get(pk=foreign_restore.pk).state == "requested"
    assert AuditEvent.objects.filter(action="restore.approve").count() == 2
    assert AuditEvent.objects.filter(action="restore.approve_refused", object_id=str(own)).count() == 1


def test_state_change_notifications_are_emailed(media: Media) -> None:
    media.world.users["admin"].email = "admin@example.test"
    media.world.users["admin"].save()
    request_restore(media)
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert notifications_deliver(notification_ids=ids) == 2
    subjects = sorted(m.subject for m in mail.outbox)
    assert all("Restore" in s and "requested" in s for s in subjects)
    admin_mail = next(m for m in mail.outbox if m.to == ["admin@example.test"])
    assert "/restores/" in admin_mail.body and "editor needs the originals" in admin_mail.body
    # Delivered once only, however often delivery runs.
    assert notifications_deliver(notification_ids=ids) == 0
    assert len(mail.outbox) == 2


def test_clip_page_offers_restore_only_to_roles_that_may_request(media: Media) -> None:
    clip = media.clips[0]
    for persona, shown in [("editor", True), ("dit", True), ("viewer", False)]:
        page = media.world.client(persona).get(f"/clips/{clip.pk}/").content.decode()
        assert (f"/p/FILM/restores/new/?clips={clip.pk}" in page) == shown, persona


def test_request_form_page_creates_a_request(media: Media) -> None:
    client = media.world.client("producer")
    response = client.post(
        "/p/FILM/restores/new/",
        {"by": "scene", "scene": "42", "target": "vfx", "reason": "VFX pulls"},
    )
    assert response.status_code == 302
    restore = RestoreRequest.objects.get()
    assert response["Location"] == f"/restores/{restore.pk}/"
    assert restore.target.name == "vfx" and restore.requester.username == "producer"
    page = client.get(response["Location"]).content.decode()
    assert "VFX pulls" in page and "Requested" in page


def test_viewer_cannot_see_a_restore_page(media: Media) -> None:
    restore_id = request_restore(media).json()["id"]
    assert media.world.client("viewer").get(f"/restores/{restore_id}/").status_code == 403
    assert media.world.client("outsider").get(f"/restores/{restore_id}/").status_code == 404


def test_project_page_links_to_restores_only_for_roles_that_may_request(media: Media) -> None:
    for persona in ("admin", "producer", "editor", "dit", "viewer"):
        client = media.world.client(persona)
        page = client.get("/p/FILM/").content.decode()
        listing = client.get("/p/FILM/restores/").status_code
        # A link is shown exactly when following it works.
        assert ("/p/FILM/restores/" in page) == (listing == 200), persona
    assert media.world.client("viewer").get("/p/FILM/restores/").status_code == 403


def test_sizes_read_the_same_on_the_page_and_in_the_notification(media: Media) -> None:
    # Decimal units everywhere, as on drive labels: 16,000,000 bytes is 16.0 MB,
    # not "15.3 MB" on the page and "16.0 MB" in the mail.
    total = sum(f.size for f in media.files)  # 520,000 bytes
    restore_id = request_restore(media, clips={"scene": "42"}).json()["id"]
    page = media.world.client("editor").get(f"/restores/{restore_id}/").content.decode()
    notification = Notification.objects.filter(kind="restore.requested").first()
    assert notification is not None
    assert total == 520_000
    assert "520.0 KB" in page and "520.0 KB" in notification.body
    assert "507.8 KB" not in page


def test_a_request_waiting_for_approval_keeps_its_page_up_to_date(media: Media) -> None:
    restore_id = request_restore(media).json()["id"]
    client = media.world.client("editor")
    page = client.get(f"/restores/{restore_id}/").content.decode()
    assert f'hx-get="/restores/{restore_id}/"' in page and 'hx-trigger="every 10s"' in page
    RestoreRequest.objects.filter(pk=restore_id).update(state=RestoreRequest.State.VERIFIED)
    fragment = client.get(f"/restores/{restore_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Verified" in fragment and "hx-trigger" not in fragment  # finished: polling stops
