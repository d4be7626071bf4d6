"""Alerts: one per problem, acknowledged, resolved, escalated to admins, posted to a real webhook server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import QuerySet
from django.utils import timezone

from alerts import checks, services
from alerts.models import Alert, Delivery, Notification
from alerts.outbox import deliveries_send, deliveries_send_pending
from alerts.services import (
    alert_raise,
    alert_resolve_key,
    alerts_escalate,
)
from catalog.copies import copy_condemn_if_verified
from catalog.models import AuditEvent, Copy, Volume
from ingest import alerting as ingest_alerting
from restore import alerting as restore_alerting
from restore.models import RestoreDrill, RestoreRequest, RestoreTarget
from tests.alerts.servers import webhook_receiver
from tests.dashboard.conftest import build_site
from tests.fixtures import PERSONAS, World


def webhook_posts() -> QuerySet[Delivery]:
    return Delivery.objects.filter(kind=Delivery.Kind.WEBHOOK)


def raise_corrupt(
    world: World, path: str, *, severity: str = "critical", key: str = "copy.corrupt:volume:1"
) -> Alert:
    return alert_raise(
        project=world.project,
        key=key,
        kind="copy.corrupt",
        severity=severity,
        title="FILM: corrupt copies on RAID-A",
        body="Found during a restore.",
        link="/restores/1/",
        items=[path],
    ).alert


def test_one_alert_per_problem_however_many_files(world: World) -> None:
    for n in range(200):
        raise_corrupt(world, f"A001/A001C{n:03d}.mov")
    alert = Alert.objects.get()
    assert alert.occurrences == 200 and alert.state == "open"
    assert alert.details["item_count"] == 200 and len(alert.details["items"]) == 100  # kept: the first 100
    # People were told once: admins, producers and DITs, not editors or viewers.
    told = sorted(Notification.objects.filter(alert=alert).values_list("user__username", flat=True))
    assert told == ["admin", "dit", "producer"]
    assert Notification.objects.get(user__username="producer").level == "critical"
    assert AuditEvent.objects.filter(action="alert.raise").count() == 1


def test_a_repeat_can_raise_the_severity_and_replace_a_snapshot(world: World) -> None:
    raise_corrupt(world, "a", severity="warning")
    raise_corrupt(world, "b", severity="critical")
    raise_corrupt(world, "c", severity="warning")
    assert Alert.objects.get().severity == "critical"
    result = alert_raise(
        project=world.project,
        key="transfer:card:9",
        kind="transfer.incomplete",
        severity="critical",
        title="t",
        body="b",
        items=["x", "y"],
        item_count=120,
    )
    again = alert_raise(
        project=world.project,
        key="transfer:card:9",
        kind="transfer.incomplete",
        severity="critical",
        title="t",
        body="b",
        items=["z"],
        item_count=7,
    )
    assert result.created and not again.created
    assert again.alert.details["items"] == ["z"] and again.alert.details["item_count"] == 7


def test_a_problem_that_comes_back_after_resolution_is_a_new_alert(world: World) -> None:
    first = raise_corrupt(world, "a")
    resolved = alert_resolve_key(key=first.key, resolution="copied again")
    assert resolved is not None and resolved.state == "resolved" and resolved.resolved_by is None
    assert alert_resolve_key(key=first.key, resolution="again") is None
    second = raise_corrupt(world, "a")
    assert second.pk != first.pk and Alert.objects.count() == 2
    assert Notification.objects.filter(user__username="admin", alert=second).count() == 1
    assert AuditEvent.objects.filter(action="alert.resolve", actor_name="system").exists()


@pytest.mark.parametrize("persona", [*PERSONAS, "anonymous"])
def test_role_matrix_for_acknowledging(world: World, persona: str) -> None:
    alert = raise_corrupt(world, "a")
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    response = world.client(persona).post(f"/api/alerts/{alert.pk}/acknowledge/", {"note": "on it"})
    # IT support takes alerts in hand without being told of each one (a ladder step tells it).
    expected = {
        "admin": 200,
        "producer": 200,
        "dit": 200,
        "it_support": 200,
        "outsider": 404,
        "anonymous": 401,
    }.get(persona, 403)
    assert response.status_code == expected, response.content
    written = list(AuditEvent.objects.exclude(pk__in=before).values_list("action", "actor_name"))
    alert.refresh_from_db()
    if expected == 200:
        assert written == [("alert.acknowledge", persona)]
        assert alert.state == "acknowledged" and alert.acknowledged_by.username == persona
        assert alert.acknowledge_note == "on it"
        # The acknowledger's own notification is read; the others' are not.
        if persona != "it_support":
            assert Notification.objects.get(alert=alert, user__username=persona).read_at is not None
    elif expected == 403:
        assert written == [("alert.acknowledge_refused", persona)] and alert.state == "open"
    else:
        assert written == [] and alert.state == "open"


def test_acknowledge_once_then_resolve_with_what_was_done(world: World) -> None:
    alert = raise_corrupt(world, "a")
    client = world.client("dit")
    assert client.post(f"/api/alerts/{alert.pk}/acknowledge/").status_code == 200
    assert client.post(f"/api/alerts/{alert.pk}/acknowledge/").status_code == 409
    assert client.post(f"/api/alerts/{alert.pk}/resolve/", {"resolution": ""}).status_code == 400
    assert (
        world.client("viewer").post(f"/api/alerts/{alert.pk}/resolve/", {"resolution": "x"}).status_code
        == 403
    )
    response = client.post(f"/api/alerts/{alert.pk}/resolve/", {"resolution": "re-copied to RAID-B"})
    assert response.status_code == 200 and response.json()["state"] == "resolved"
    assert response.json()["resolved_by"] == "dit"
    assert client.post(f"/api/alerts/{alert.pk}/resolve/", {"resolution": "x"}).status_code == 409
    assert AuditEvent.objects.filter(action="alert.resolve", actor_name="dit").exists()


def test_members_list_their_projects_alerts_only(world: World) -> None:
    mine = raise_corrupt(world, "a")
    alert_raise(project=world.other_project, key="o", kind="k", severity="warning", title="theirs", body="")
    ids = [a["id"] for a in world.client("viewer").get("/api/alerts/").json()["results"]]
    assert ids == [mine.pk]
    assert world.client("viewer").get(f"/api/alerts/{mine.pk}/").json()["kind"] == "copy.corrupt"
    assert world.client("outsider").get(f"/api/alerts/{mine.pk}/").status_code == 404
    assert world.client("viewer").get("/api/alerts/?state=resolved").json()["results"] == []


def test_an_unacknowledged_alert_is_escalated_to_the_admins_once(world: World, settings: Any) -> None:
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 600
    alert = raise_corrupt(world, "a")
    acknowledged = raise_corrupt(world, "b", key="other")
    world.client("producer").post(f"/api/alerts/{acknowledged.pk}/acknowledge/")
    informational = alert_raise(
        project=world.project, key="i", kind="k", severity="info", title="fyi", body=""
    ).alert
    now = timezone.now()
    assert alerts_escalate(now=now + timedelta(seconds=599)) == []  # not yet
    assert alerts_escalate(now=now + timedelta(seconds=601)) == [alert.pk]
    assert alerts_escalate(now=now + timedelta(seconds=900)) == []  # once
    escalation = Notification.objects.filter(kind="alert.escalated")
    assert list(escalation.values_list("user__username", flat=True)) == ["admin"]
    (note,) = escalation
    assert note.subject == "ESCALATED: FILM: corrupt copies on RAID-A" and "within 10 min" in note.body
    alert.refresh_from_db()
    assert alert.escalated_at is not None and alert.state == "open"
    informational.refresh_from_db()
    assert informational.escalated_at is None
    assert AuditEvent.objects.filter(action="alert.escalate", object_id=str(alert.pk)).count() == 1
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 0
    raise_corrupt(world, "c", key="third")
    assert alerts_escalate(now=now + timedelta(days=1)) == []  # escalation off


def test_an_escalation_claimed_by_another_run_is_not_sent_again(world: World, settings: Any) -> None:
    """Two beat runs (or a redelivered task) that both found the alert due: one escalates."""
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 1
    alert = raise_corrupt(world, "a")
    acknowledged = raise_corrupt(world, "b", key="other")
    later = timezone.now() + timedelta(seconds=5)
    assert services._escalate(alert.pk, now=later, seconds=1) is True
    assert services._escalate(alert.pk, now=later, seconds=1) is False
    world.client("dit").post(f"/api/alerts/{acknowledged.pk}/acknowledge/")  # acknowledged meanwhile
    assert services._escalate(acknowledged.pk, now=later, seconds=1) is False
    assert Notification.objects.filter(kind="alert.escalated").count() == 1


def test_without_project_admins_the_superusers_get_the_escalation(world: World, settings: Any) -> None:
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 1
    world.users["admin"].memberships.all().delete()
    world.users["outsider"].is_superuser = True
    world.users["outsider"].save()
    raise_corrupt(world, "a")
    assert len(alerts_escalate(now=timezone.now() + timedelta(seconds=5))) == 1
    assert list(
        Notification.objects.filter(kind="alert.escalated").values_list("user__username", flat=True)
    ) == ["outsider"]


def test_the_webhook_gets_slack_compatible_json(world: World, settings: Any) -> None:
    settings.REELVAULT_BASE_URL = "https://vault.example.test"
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 1
    with webhook_receiver() as receiver:
        settings.REELVAULT_ALERT_WEBHOOK_URLS = [receiver.url]
        alert = raise_corrupt(world, "A001/A001C001.mov")
        raise_corrupt(world, "A001/A001C002.mov")  # a repeat: no second message
        alerts_escalate(now=timezone.now() + timedelta(seconds=5))
        assert deliveries_send(delivery_ids=list(webhook_posts().values_list("pk", flat=True))) == 2
        assert deliveries_send(delivery_ids=list(webhook_posts().values_list("pk", flat=True))) == 0
    raised, escalated = receiver.posts
    assert receiver.headers[0]["Content-Type"] == "application/json"
    url = f"https://vault.example.test/alerts/{alert.pk}/"
    assert raised["text"] == f"[CRITICAL] FILM: corrupt copies on RAID-A <{url}|Open in Reelvault>"
    (attachment,) = raised["attachments"]
    assert attachment["color"] == "#b3261e" and attachment["title_link"] == url
    assert {f["title"]: f["value"] for f in attachment["fields"]}["Project"] == "FILM"
    assert "A001/A001C001.mov" in attachment["text"]
    assert raised["reelvault"]["event"] == "raised" and raised["reelvault"]["key"] == alert.key
    assert escalated["text"].startswith("ESCALATED") and escalated["reelvault"]["event"] == "escalated"
    assert escalated["reelvault"]["occurrences"] == 2


def test_a_webhook_that_fails_is_retried_by_the_sweep(world: World, settings: Any) -> None:
    with webhook_receiver() as receiver:
        settings.REELVAULT_ALERT_WEBHOOK_URLS = [receiver.url]
        receiver.status = 500
        raise_corrupt(world, "a")
        delivery = webhook_posts().get()
        assert deliveries_send(delivery_ids=[delivery.pk]) == 0
        delivery.refresh_from_db()
        assert (
            delivery.sent_at is None
            and delivery.attempts == 1
            and delivery.last_error == "HTTP 500 Internal Server Error"
        )
        assert delivery.response_status == 500
        receiver.status = 200
        webhook_posts().filter(pk=delivery.pk).update(created_at=delivery.created_at - timedelta(hours=1))
        assert deliveries_send_pending() == 1
    assert len(receiver.posts) == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.response_status == 200


def test_copies_condemned_by_a_restore_make_one_alert_per_volume(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    site = build_site(world, days=1)
    target = RestoreTarget.objects.create(project=site.project, name="editorial", path="/tmp/x")
    restore = RestoreRequest.objects.create(project=site.project, target=target, reason="r")
    copies = Copy.objects.filter(volume=site.volumes["NAS-1"]).select_related("media_file")[:3]
    for copy in copies:
        with django_capture_on_commit_callbacks(execute=True):
            copy_condemn_if_verified(
                actor=None,
                copy=copy,
                state="corrupt",
                error="xxh128 differs",
                source=f"Restore {restore.pk}",
                link=f"/restores/{restore.pk}/",
            )
    alert = Alert.objects.get()
    assert alert.kind == "copy.corrupt" and alert.key == f"copy.corrupt:volume:{site.volumes['NAS-1'].pk}"
    assert alert.title == "FILM: corrupt copies on NAS-1" and alert.details["item_count"] == 3
    assert alert.link == f"/restores/{restore.pk}/"


def test_a_failed_drill_raises_an_alert_and_a_passing_one_resolves_it(world: World) -> None:
    drill = RestoreDrill.objects.create(
        project=world.project, tier="warm", state="failed", error="2 of 3 files"
    )
    restore_alerting.drill_finished(drill_id=drill.pk)
    alert = Alert.objects.get()
    assert (
        alert.title == f"FILM: restore drill {drill.pk} (warm tier) FAILED" and alert.severity == "critical"
    )
    other_tier = RestoreDrill.objects.create(project=world.project, tier="hot", state="passed")
    restore_alerting.drill_finished(drill_id=other_tier.pk)
    assert Alert.objects.get().state == "open"
    passed = RestoreDrill.objects.create(project=world.project, tier="warm", state="passed")
    restore_alerting.drill_finished(drill_id=passed.pk)
    alert.refresh_from_db()
    assert alert.state == "resolved" and f"drill {passed.pk}" in alert.resolution


def test_an_incomplete_offload_raises_and_a_complete_one_resolves(world: World) -> None:
    site = build_site(world, days=1)
    job = site.job(
        "A001",
        day=1,
        state="incomplete",
        summary={"not_safe_reasons": ["a on X: failed"], "not_safe_reason_count": 1},
    )
    ingest_alerting.offload_finished(job_id=job.pk)
    alert = Alert.objects.get(kind="transfer.incomplete")
    assert alert.title == "FILM: offload of card A001 is incomplete" and alert.link == f"/offloads/{job.pk}/"
    failed = site.job("A001", day=1, state="failed", error="the card was unplugged")
    ingest_alerting.offload_finished(job_id=failed.pk)
    alert.refresh_from_db()
    assert alert.occurrences == 2 and Alert.objects.filter(kind__startswith="transfer").count() == 1
    done = site.job("A001", day=1, state="completed")
    ingest_alerting.offload_finished(job_id=done.pk)
    alert.refresh_from_db()
    assert alert.state == "resolved" and f"offload {done.pk}" in alert.resolution


def test_a_policy_gap_older_than_the_limit_raises_and_closing_it_resolves(
    world: World, settings: Any
) -> None:
    site = build_site(world, days=2)
    settings.REELVAULT_POLICY_GAP_ALERT_SECONDS = 3600
    assert checks.policy_gaps_check() == []  # the short clip was cataloged just now
    later = timezone.now() + timedelta(hours=2)
    (alert_id,) = checks.policy_gaps_check(now=later)
    alert = Alert.objects.get(pk=alert_id)
    assert alert.kind == "policy.gap" and alert.key == f"policy.gap:day:{site.days[2].pk}"
    assert alert.details["items"] == ["A002C002"] and "day 2" in alert.title
    assert checks.policy_gaps_check(now=later) == [alert_id]  # still the same alert
    assert Alert.objects.get(pk=alert_id).occurrences == 2
    media_file = site.clips["A002C002"].files.get()
    Copy.objects.create(
        media_file=media_file,
        volume=site.volumes["NAS-1"],
        path="p",
        state="verified",
        hash_found="h",
        verified_at=timezone.now(),
    )
    assert checks.policy_gaps_check(now=later) == []
    assert Alert.objects.get(pk=alert_id).state == "resolved"


def test_a_volume_near_full_raises_and_clears(world: World, settings: Any, tmp_path: Path) -> None:
    settings.REELVAULT_VOLUME_FULL_PERCENT = 90
    volume = world.volume
    volume.host, volume.capacity_bytes, volume.free_bytes = "elsewhere", 10**12, 5 * 10**10  # 95% used
    volume.save()
    assert checks.volumes_check() == 1
    alert = Alert.objects.get(kind="volume.near_full")
    assert alert.title == "FILM: volume RAID-A is 95% full" and alert.severity == "warning"
    Volume.objects.filter(pk=volume.pk).update(free_bytes=5 * 10**11)
    assert checks.volumes_check() == 0
    alert.refresh_from_db()
    assert alert.state == "resolved"
    # A folder mounted on this host is measured on the disk.
    local = Volume.objects.create(
        project=world.project,
        label="LOCAL",
        kind="raid",
        location=str(tmp_path),
        host=settings.REELVAULT_HOSTNAME,
    )
    settings.REELVAULT_VOLUME_FULL_PERCENT = 0
    assert checks.volume_space_check(volume=local) is not None


def test_the_alert_pages_show_and_acknowledge(world: World) -> None:
    alert = raise_corrupt(world, "A001/A001C001.mov")
    producer = world.client("producer")
    listing = producer.get("/alerts/").content.decode()
    assert "FILM: corrupt copies on RAID-A" in listing
    detail = producer.get(f"/alerts/{alert.pk}/").content.decode()
    assert "A001/A001C001.mov" in detail and "Acknowledge" in detail
    assert "Acknowledge" not in world.client("viewer").get(f"/alerts/{alert.pk}/").content.decode()
    done = producer.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "calling the DIT"}, follow=True)
    assert "it will not be escalated" in done.content.decode()
    assert world.client("viewer").post(f"/alerts/{alert.pk}/resolve/", {"resolution": "x"}).status_code == 403
    assert world.client("outsider").get(f"/alerts/{alert.pk}/").status_code == 404
    assert (
        producer.post(f"/alerts/{alert.pk}/resolve/", {"resolution": "fixed"}, follow=True).status_code == 200
    )
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert "FILM: corrupt copies" not in producer.get("/alerts/").content.decode()  # active only by default
    assert "FILM: corrupt copies" in producer.get("/alerts/?state=all").content.decode()


def test_the_command_runs_the_periodic_checks(world: World, settings: Any) -> None:
    settings.REELVAULT_ALERT_ESCALATE_SECONDS = 1
    alert = raise_corrupt(world, "a")
    Alert.objects.filter(pk=alert.pk).update(first_seen_at=timezone.now() - timedelta(minutes=5))
    call_command("alerts_check")
    alert.refresh_from_db()
    assert alert.escalated_at is not None
