"""The escalation ladder and the recovery desk: an unacknowledged alert climbs on its own, step by step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail
from django.utils import timezone

from alerts.models import Alert, Delivery, Notification
from alerts.outbox import deliveries_send
from alerts.services import StepSpec, alert_raise, duty_shift_add, escalation_ladder_set
from alerts.tasks import alerts_escalate_task
from catalog.models import AuditEvent
from tests.fixtures import World


def told(alert: Alert, kind: str) -> list[str]:
    return sorted(
        Notification.objects.filter(alert=alert, kind=kind).values_list("user__username", flat=True)
    )


def earlier(alert: Alert, *, minutes: int, field: str) -> None:
    """Time passes: move the alert's clock back instead of waiting."""
    Alert.objects.filter(pk=alert.pk).update(**{field: getattr(alert, field) - timedelta(minutes=minutes)})
    alert.refresh_from_db()


def test_an_unacknowledged_critical_alert_climbs_two_steps_on_its_own(world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.REELVAULT_ALERT_WEBHOOK_URLS = []
    admin, producer, dit = (world.users[name] for name in ("admin", "producer", "dit"))
    now = timezone.now()
    duty_shift_add(
        actor=admin,
        project=world.project,
        user=dit,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=11),
        reach="radio channel 4",
    )
    escalation_ladder_set(
        actor=admin,
        project=world.project,
        steps=[
            StepSpec(name="DIT on duty", after_minutes=10, include_on_duty=True),
            StepSpec(name="Data manager", after_minutes=20, users=[producer], emails=["vendor@example.test"]),
            StepSpec(name="IT support", after_minutes=30, users=[world.users["it_support"]]),
        ],
    )
    alert = alert_raise(
        project=world.project,
        key="copy.corrupt:volume:9",
        kind="copy.corrupt",
        severity="critical",
        title="FILM: corrupt copies on RAID-A",
        body="Found during a restore.",
        items=["A001/A001C001.mov"],
    ).alert
    # The recovery desk is told first, and only it: the ladder takes it further.
    assert told(alert, "copy.corrupt") == ["dit"]

    alerts_escalate_task()  # beat, before anything is due
    alert.refresh_from_db()
    assert alert.escalation_level == 0

    earlier(alert, minutes=11, field="first_seen_at")
    alerts_escalate_task()
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.state == "open"
    assert told(alert, "alert.escalated") == ["dit"]
    alerts_escalate_task()  # the next step is 20 minutes after this one
    alert.refresh_from_db()
    assert alert.escalation_level == 1

    earlier(alert, minutes=21, field="escalated_at")
    alerts_escalate_task()
    alert.refresh_from_db()
    assert alert.escalation_level == 2
    assert told(alert, "alert.escalated") == ["dit", "producer"]
    (note,) = Notification.objects.filter(alert=alert, kind="alert.escalated", user=producer)
    assert note.subject == "ESCALATED (step 2, Data manager): FILM: corrupt copies on RAID-A"
    # The outside contact has no account: an email straight from the outbox.
    contact = Delivery.objects.get(kind=Delivery.Kind.CONTACT, alert=alert)
    assert contact.recipient == "vendor@example.test"
    assert deliveries_send(delivery_ids=[contact.pk]) == 1
    (sent,) = [m for m in mail.outbox if m.to == ["vendor@example.test"]]
    assert "Data manager" in sent.subject and f"/alerts/{alert.pk}/" in sent.body
    steps = AuditEvent.objects.filter(action="alert.escalate", object_id=str(alert.pk)).order_by("pk")
    assert [e.after["step"] for e in steps] == [1, 2]
    assert "vendor@example.test" in steps[1].after["to"]

    # IT support takes it in hand (it may acknowledge, not resolve): the climb stops.
    it = world.client("it_support")
    assert it.post(f"/api/alerts/{alert.pk}/resolve/", {"resolution": "x"}).status_code == 403
    assert it.post(f"/api/alerts/{alert.pk}/acknowledge/").status_code == 200
    earlier(alert, minutes=31, field="escalated_at")
    alerts_escalate_task()
    alert.refresh_from_db()
    assert alert.escalation_level == 2 and alert.state == "acknowledged"


def test_restore_requests_tell_the_recovery_desk(world: World) -> None:
    now = timezone.now()
    duty_shift_add(
        actor=None,
        project=world.project,
        user=world.users["viewer"],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    from alerts.selectors import on_duty

    assert [u.get_username() for u in on_duty(project=world.project)] == ["viewer"]
    assert on_duty(project=world.project, at=now + timedelta(hours=2)) == []
