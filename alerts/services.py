"""Notifications and alerts: create them, deliver them (in-app, email, webhook), handle them.

``notify`` is called inside the caller's transaction: the rows commit or roll
back with the change they announce, and so do their emails, which wait in
the outbox (``alerts/outbox.py``) until a worker sends them after the commit
(a rolled-back change sends nothing). Webhook posts go through the same
outbox.

Alerts (``alert_raise``) sit on top: one Alert per problem, identified by a
de-duplication key. Only the first raise of a problem notifies people (in the
app and by email, through ``notify``) and posts to the webhooks; raising it
again counts an occurrence. ``alert_acknowledge``/``alert_resolve`` are what
people do with them, ``alerts_escalate`` (beat) tells the admins about open
alerts nobody acknowledged in time. The catalog-level events that raise
alerts are in ``alerts/hooks.py``, the features' own in their ``alerting.py``
modules; the periodic checks in ``alerts/checks.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts import selectors
from alerts.models import (
    Alert,
    Delivery,
    DutyShift,
    EscalationContact,
    EscalationStep,
    Notification,
    NotificationPreference,
    Severity,
)
from alerts.outbox import deliveries_enqueue, deliveries_send, deliveries_send_pending, delivery_new
from catalog.audit import audit_lock, audit_record
from catalog.display import when_text
from catalog.models import Project
from catalog.permissions import AnyUser, Cap, members_with

logger = logging.getLogger(__name__)


def notify(
    *,
    users: Iterable[AbstractBaseUser],
    subject: str,
    body: str,
    link: str = "",
    project: Project | None = None,
    kind: str = "",
    level: str = Notification.Level.INFO,
    alert: Alert | None = None,
) -> list[Notification]:
    """Notify each distinct active user once, in the app and by email; return the new rows.

    Call it inside the transaction of the change it announces. Email goes
    out after the commit, from a worker (see ``notifications_deliver``).
    """
    wanted = list({u.pk: u for u in users if u.pk is not None and u.is_active}.values())
    if not wanted:
        return []
    # Each user's choice (NotificationPreference; none: in the app and by email). Someone who
    # wants neither gets no row; email only keeps the row as already read (it holds the email).
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=[u.pk for u in wanted])}
    now = timezone.now()
    rows: list[Notification] = []
    emails: list[tuple[bool, str]] = []
    for user in wanted:
        pref = prefs.get(user.pk)
        in_app, by_email = (pref.in_app, pref.email) if pref is not None else (True, True)
        if not (in_app or by_email):
            continue
        emails.append((by_email, getattr(user, "email", "") or ""))
        rows.append(
            Notification(
                user_id=user.pk,
                project=project,
                alert=alert,
                kind=kind[:60],
                level=level,
                subject=subject[:200],
                body=body,
                link=link[:500],
                read_at=None if in_app else now,
            )
        )
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    # A user without an address gets a delivery too: it is given up at the
    # first attempt, with the reason, so the notification says why no email went.
    deliveries_enqueue(
        deliveries=[
            delivery_new(kind=Delivery.Kind.EMAIL, recipient=address, user_id=row.user_id, notification=row)
            for row, (by_email, address) in zip(created, emails, strict=True)
            if by_email
        ]
    )
    return created


@transaction.atomic(durable=True)
def notification_preference_set(*, user: AnyUser, in_app: bool, email: bool) -> NotificationPreference:
    """Record how the user wants to be told from now on (audit-logged); return the preference."""
    if user.pk is None:
        raise PermissionError("log in to choose how you are notified")
    pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user_id=user.pk)
    before = {"in_app": pref.in_app, "email": pref.email}
    pref.in_app, pref.email = in_app, email
    pref.save()
    audit_record(
        actor=user,
        action="notification.preference_set",
        obj=pref,
        before=before,
        after={"in_app": in_app, "email": email},
    )
    return pref


def notifications_deliver(*, notification_ids: Sequence[int]) -> int:
    """Send now the emails of these notifications not sent yet; return how many went out (see the outbox)."""
    ids = Delivery.objects.filter(notification_id__in=notification_ids).values_list("pk", flat=True)
    return deliveries_send(delivery_ids=list(ids))


def notifications_deliver_pending() -> int:
    """Send the notification emails the commit-time task missed (see ``deliveries_send_pending``)."""
    return deliveries_send_pending(kinds=[Delivery.Kind.EMAIL])


def notifications_mark_read(*, user: AnyUser, notification_ids: Sequence[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when no ids are given); return how many."""
    if user.pk is None:
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


# --- Alerts ----------------------------------------------------------------------------------

#: An alert keeps at most this many concerned items (files, clips, cards) in its details.
MAX_DETAIL_ITEMS = 100
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_SLACK_COLOURS = {Severity.INFO: "#0b5cad", Severity.WARNING: "#9a6700", Severity.CRITICAL: "#b3261e"}


class AlertError(Exception):
    """The alert is not in a state that allows this (409); the message says why."""


@dataclass(frozen=True)
class Raised:
    """What ``alert_raise`` did: the alert, and whether it is new (people were told)."""

    alert: Alert
    created: bool


def alert_link(alert: Alert) -> str:
    return f"/alerts/{alert.pk}/"


def _unresolved(key: str) -> Alert | None:
    """Lock and return the key's unresolved alert (inside a transaction), the audit chain's lock first."""
    audit_lock()  # lock order: catalog/audit.py
    return (
        Alert.objects.select_for_update(of=("self",))
        .select_related("project")
        .filter(key=key)
        .exclude(state=Alert.State.RESOLVED)
        .first()
    )


def alert_text(alert: Alert) -> str:
    """The alert as plain text: its body and the first concerned items (emails, notifications)."""
    parts = [alert.body.strip()]
    items = list(alert.details.get("items", []))
    count = int(alert.details.get("item_count", len(items)))
    if items:
        shown = "\n".join(f"- {item}" for item in items[:20])
        more = f"\n… and {count - min(len(items), 20)} more" if count > min(len(items), 20) else ""
        parts.append(f"Concerns {count} item(s):\n{shown}{more}")
    return "\n\n".join(part for part in parts if part)


def alert_raise(
    *,
    project: Project,
    key: str,
    kind: str,
    severity: str,
    title: str,
    body: str,
    link: str = "",
    items: Sequence[str] = (),
    item_count: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Raised:
    """Open the alert for a problem, or count one more occurrence of its unresolved alert.

    ``key`` names the problem (``transfer:card:12``, ``copy.corrupt:volume:3``):
    one alert per problem, however many files it concerns. Returns
    ``Raised(alert, created)``:

    - created: the alert is new. The project's admins, producers and DITs are
      notified (in the app, and by email after the commit), the webhooks get a
      ``raised`` message, and the audit log an ``alert.raise`` entry;
    - not created: an open or acknowledged alert for the key exists. Its
      occurrences and last_seen_at go up, its severity is raised (never
      lowered), nobody is notified again. ``items`` are added to the concerned
      items; with ``item_count`` they replace them instead (a snapshot, e.g.
      the files a re-run still failed on).

    Runs in the caller's transaction when there is one (it commits or rolls
    back with the event it reports), else in its own.
    """
    now = timezone.now()
    items = [str(item) for item in dict.fromkeys(items)]
    with transaction.atomic():
        alert = _unresolved(key)
        created = False
        if alert is None:
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        project=project,
                        key=key[:200],
                        kind=kind[:60],
                        severity=severity,
                        title=title[:200],
                        body=body,
                        link=link[:500],
                        details={
                            **(details or {}),
                            "items": items[:MAX_DETAIL_ITEMS],
                            "item_count": item_count if item_count is not None else len(items),
                        },
                        first_seen_at=now,
                        last_seen_at=now,
                    )
                created = True
            except IntegrityError:
                # Another worker opened it between our look and our insert (the
                # partial unique index made us wait for its commit): join it.
                alert = _unresolved(key)
                if alert is None:
                    raise
        if not created:
            _add_occurrence(alert, severity=severity, items=items, item_count=item_count, details=details)
            return Raised(alert, created=False)
        audit_record(
            actor=None,
            action="alert.raise",
            obj=alert,
            project=project,
            after={"key": alert.key, "kind": alert.kind, "severity": alert.severity, "title": alert.title},
        )
        # Whoever is on the recovery desk is told first (and only: the ladder
        # takes it further); with nobody on duty, everyone who handles alerts.
        notify(
            users=selectors.on_duty(project=project, at=now) or members_with(project, need=Cap.HANDLE_ALERTS),
            subject=alert.title,
            body=alert_text(alert),
            link=alert_link(alert),
            project=project,
            kind=alert.kind,
            level=alert.severity,
            alert=alert,
        )
        _webhook(alert, Delivery.Event.RAISED)
    return Raised(alert, created=True)


def _add_occurrence(
    alert: Alert,
    *,
    severity: str,
    items: Sequence[str],
    item_count: int | None,
    details: Mapping[str, Any] | None,
) -> None:
    """Count a repeat of a locked, unresolved alert (see alert_raise)."""
    merged = {**alert.details, **(details or {})}
    known = [str(item) for item in alert.details.get("items", [])]
    if item_count is not None:
        merged["items"], merged["item_count"] = list(items)[:MAX_DETAIL_ITEMS], item_count
    else:
        new = [item for item in items if item not in known]
        merged["items"] = (known + new)[:MAX_DETAIL_ITEMS]
        merged["item_count"] = int(alert.details.get("item_count", len(known))) + len(new)
    if SEVERITY_RANK[Severity(severity)] > SEVERITY_RANK[Severity(alert.severity)]:
        alert.severity = severity
    Alert.objects.filter(pk=alert.pk).update(
        occurrences=F("occurrences") + 1, last_seen_at=timezone.now(), severity=alert.severity, details=merged
    )
    alert.refresh_from_db()


def _resolve(alert: Alert, *, actor: AnyUser | None, resolution: str) -> None:
    """Resolve a locked, unresolved alert: audit it and tell the webhooks."""
    user = actor if actor is not None and actor.is_authenticated else None
    before = alert.state
    alert.state, alert.resolved_at, alert.resolution = Alert.State.RESOLVED, timezone.now(), resolution
    alert.resolved_by_id = user.pk if user is not None else None
    alert.save(update_fields=["state", "resolved_at", "resolution", "resolved_by"])
    audit_record(
        actor=actor,
        action="alert.resolve",
        obj=alert,
        project=alert.project,
        before={"state": before},
        after={"state": alert.state, "resolution": resolution},
    )
    _webhook(alert, Delivery.Event.RESOLVED)


def alert_resolve_key(*, key: str, resolution: str) -> Alert | None:
    """Resolve the unresolved alert of a problem that went away (the system noticed); return it or None."""
    with transaction.atomic():
        alert = _unresolved(key)
        if alert is None:
            return None
        _resolve(alert, actor=None, resolution=resolution)
    return alert


@transaction.atomic(durable=True)
def alert_resolve(*, actor: AnyUser, alert: Alert, resolution: str) -> Alert:
    """A person closes the alert with what was done. Raises AlertError when it is already resolved."""
    audit_lock()  # before the alert row: lock order in catalog/audit.py
    locked = Alert.objects.select_for_update(of=("self",)).select_related("project").get(pk=alert.pk)
    if locked.state == Alert.State.RESOLVED:
        raise AlertError(f"alert {locked.pk} is already resolved")
    if not resolution.strip():
        raise AlertError("say what was done to resolve it")
    _resolve(locked, actor=actor, resolution=resolution.strip())
    return locked


@transaction.atomic(durable=True)
def alert_acknowledge(*, actor: AnyUser, alert: Alert, note: str = "") -> Alert:
    """Someone takes the alert in hand: it stops escalating. Raises AlertError unless it is open.

    The actor's own notifications about it are marked read.
    """
    audit_lock()  # before the alert row: lock order in catalog/audit.py
    locked = Alert.objects.select_for_update(of=("self",)).select_related("project").get(pk=alert.pk)
    if locked.state != Alert.State.OPEN:
        raise AlertError(f"alert {locked.pk} is {locked.state}; only an open alert can be acknowledged")
    now = timezone.now()
    locked.state, locked.acknowledged_at, locked.acknowledge_note = Alert.State.ACKNOWLEDGED, now, note
    locked.acknowledged_by_id = actor.pk
    locked.save(update_fields=["state", "acknowledged_at", "acknowledge_note", "acknowledged_by"])
    audit_record(
        actor=actor,
        action="alert.acknowledge",
        obj=locked,
        project=locked.project,
        before={"state": Alert.State.OPEN},
        after={"state": locked.state, "note": note},
    )
    if actor.pk is not None:
        Notification.objects.filter(alert=locked, user_id=actor.pk, read_at__isnull=True).update(read_at=now)
    return locked


def alerts_escalate(*, now: datetime | None = None) -> list[int]:
    """Climb each open, unacknowledged alert one step of its project's ladder when due; return their ids.

    An alert climbs to step N once the step's time has passed since it was
    raised (step 1) or since it climbed to step N-1; acknowledging it stops
    the climb. Each climb tells the step's members (and whoever is on duty,
    when the step says so) in the app and by email, its outside contacts by
    email and webhook, the configured webhooks an ``escalated`` message, and
    writes an ``alert.escalate`` audit entry. Informational alerts never
    escalate. Without a ladder of its own a project has the default one
    (``alerts.selectors.escalation_ladder``).
    """
    now = now or timezone.now()
    open_alerts = Alert.objects.filter(
        state=Alert.State.OPEN, severity__in=[Severity.WARNING, Severity.CRITICAL]
    ).select_related("project")[:500]
    ladders: dict[int, list[selectors.LadderStep]] = {}
    climbed = []
    for alert in open_alerts:
        if alert.project_id not in ladders:
            ladders[alert.project_id] = selectors.escalation_ladder(project=alert.project)
        ladder = ladders[alert.project_id]
        if alert.escalation_level >= len(ladder):
            continue
        since = alert.escalated_at if alert.escalation_level and alert.escalated_at else alert.first_seen_at
        if now - since < timedelta(seconds=ladder[alert.escalation_level].after_seconds):
            continue
        if _escalate(alert.pk, now=now, level=alert.escalation_level):
            climbed.append(alert.pk)
    return climbed


@transaction.atomic(durable=True)
def _escalate(alert_id: int, *, now: datetime, level: int = 0, seconds: int | None = None) -> bool:
    """Climb the alert from ``level`` to the next step; False when another run did, or it was acknowledged."""
    audit_lock()  # before the alert row: lock order in catalog/audit.py
    # The claim: of two beat runs (or a redelivered task), one climbs.
    claimed = Alert.objects.filter(pk=alert_id, state=Alert.State.OPEN, escalation_level=level).update(
        escalated_at=now, escalation_level=level + 1
    )
    if not claimed:
        return False
    alert = Alert.objects.select_related("project").get(pk=alert_id)
    ladder = selectors.escalation_ladder(project=alert.project)
    if level >= len(ladder):
        return True  # the ladder was shortened meanwhile: nobody left to tell
    step = ladder[level]
    users = list(step.users)
    if step.include_on_duty:
        users = selectors.on_duty(project=alert.project, at=now) + users
    minutes = max(1, round((seconds if seconds is not None else step.after_seconds) / 60))
    unacknowledged = max(1, round((now - alert.first_seen_at).total_seconds() / 60))
    audit_record(
        actor=None,
        action="alert.escalate",
        obj=alert,
        project=alert.project,
        after={
            "step": step.position,
            "step_name": step.name,
            "to": [user.get_username() for user in users] + step.emails + step.webhooks,
            "unacknowledged_minutes": minutes if level == 0 else unacknowledged,
        },
    )
    subject = (
        f"ESCALATED: {alert.title}"
        if len(ladder) == 1
        else f"ESCALATED (step {step.position}, {step.name}): {alert.title}"
    )
    body = (
        f"Nobody acknowledged this {alert.severity} alert within {minutes} min "
        f"(raised {when_text(alert.first_seen_at)}, {alert.occurrences} occurrence(s)).\n\n"
        + alert_text(alert)
    )
    notify(
        users=users,
        subject=subject,
        body=body,
        link=alert_link(alert),
        project=alert.project,
        kind="alert.escalated",
        level=Severity.CRITICAL,
        alert=alert,
    )
    url = f"{settings.REELVAULT_BASE_URL.rstrip('/')}{alert_link(alert)}"
    payload = webhook_payload(alert=alert, event=Delivery.Event.ESCALATED)
    deliveries_enqueue(
        deliveries=[
            delivery_new(
                kind=Delivery.Kind.CONTACT,
                recipient=address,
                payload={"subject": subject, "body": f"{body}\n\n{url}"},
                alert=alert,
                event=Delivery.Event.ESCALATED,
            )
            for address in step.emails
        ]
        + [
            delivery_new(
                kind=Delivery.Kind.WEBHOOK,
                recipient=hook,
                payload=payload,
                alert=alert,
                event=Delivery.Event.ESCALATED,
            )
            for hook in step.webhooks
        ]
    )
    _webhook(alert, Delivery.Event.ESCALATED)
    return True


# --- Webhooks (Slack-compatible JSON) --------------------------------------------------------


def webhook_payload(*, alert: Alert, event: str) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` + one legacy attachment) about an alert event.

    Mattermost, Rocket.Chat and Teams' Slack-compatible endpoints read the same
    fields; ``reelvault`` carries the machine-readable facts for other receivers.
    https://api.slack.com/messaging/webhooks
    """
    url = f"{settings.REELVAULT_BASE_URL.rstrip('/')}{alert_link(alert)}"
    severity = Severity(alert.severity)
    prefix = {
        Delivery.Event.RAISED: "",
        Delivery.Event.ESCALATED: "ESCALATED, nobody acknowledged it: ",
        Delivery.Event.RESOLVED: "Resolved: ",
    }[Delivery.Event(event)]
    item_count = int(alert.details.get("item_count", 0))
    return {
        "text": f"{prefix}[{severity.value.upper()}] {alert.title} <{url}|Open in Reelvault>",
        "username": "Reelvault",
        "attachments": [
            {
                "fallback": f"{prefix}{alert.title}",
                "color": _SLACK_COLOURS[severity],
                "title": alert.title,
                "title_link": url,
                "text": (alert.resolution if event == Delivery.Event.RESOLVED else alert_text(alert))[:3000],
                "fields": [
                    {"title": "Project", "value": alert.project.code, "short": True},
                    {"title": "Severity", "value": severity.label, "short": True},
                    {"title": "Occurrences", "value": str(alert.occurrences), "short": True},
                    {"title": "Items", "value": str(item_count), "short": True},
                ],
                "footer": "Reelvault",
                "ts": int(alert.first_seen_at.timestamp()),
            }
        ],
        "reelvault": {
            "event": event,
            "alert_id": alert.pk,
            "key": alert.key,
            "kind": alert.kind,
            "severity": alert.severity,
            "state": alert.state,
            "project": alert.project.code,
            "occurrences": alert.occurrences,
            "item_count": item_count,
            "url": url,
        },
    }


def _webhook(alert: Alert, event: str) -> list[int]:
    """Queue one post per configured webhook URL in the outbox; they are sent after the commit."""
    urls = list(settings.REELVAULT_ALERT_WEBHOOK_URLS)
    if not urls:
        return []
    payload = webhook_payload(alert=alert, event=event)
    return deliveries_enqueue(
        deliveries=[
            delivery_new(kind=Delivery.Kind.WEBHOOK, recipient=url, payload=payload, alert=alert, event=event)
            for url in urls
        ]
    )


# --- Recovery desk and escalation ladder (set by the recovery app's pages and command) --------


@dataclass(frozen=True)
class StepSpec:
    """One step of a ladder to set: a name, a delay, members and outside contacts."""

    name: str
    after_minutes: int
    users: Sequence[AbstractBaseUser] = ()
    emails: Sequence[str] = ()
    webhooks: Sequence[str] = ()
    include_on_duty: bool = False


def _ladder_json(project: Project) -> list[dict[str, Any]]:
    return [
        {
            "position": step.position,
            "name": step.name,
            "after_minutes": step.after_minutes,
            "on_duty": step.include_on_duty,
            "contacts": [str(contact) for contact in step.contacts.all()],
        }
        for step in project.escalation_steps.prefetch_related("contacts__user").order_by("position")
    ]


@transaction.atomic(durable=True)
def escalation_ladder_set(
    *, actor: AnyUser | None, project: Project, steps: Sequence[StepSpec]
) -> list[EscalationStep]:
    """Replace the project's ladder with these steps, first climbed first; return the new steps.

    An empty list goes back to the default ladder. Raises AlertError when a
    step names someone who is not a member of the project, has no contact or
    a negative delay.
    """
    members = set(project.memberships.values_list("user_id", flat=True))
    for spec in steps:
        if not (spec.users or spec.emails or spec.webhooks or spec.include_on_duty):
            raise AlertError(f"step {spec.name!r} tells nobody: give it members, an email or a webhook")
        if spec.after_minutes < 0:
            raise AlertError(f"step {spec.name!r}: the delay cannot be negative")
        strangers = [u.get_username() for u in spec.users if u.pk not in members]
        if strangers:
            raise AlertError(
                f"not members of {project.code}: {', '.join(strangers)} (add them as outside contacts)"
            )
    before = _ladder_json(project)
    project.escalation_steps.all().delete()
    created = []
    for position, spec in enumerate(steps, start=1):
        step = EscalationStep(
            project=project,
            position=position,
            name=spec.name.strip()[:80] or f"Step {position}",
            after_minutes=spec.after_minutes,
            include_on_duty=spec.include_on_duty,
        )
        step.full_clean()
        step.save()
        contacts = [EscalationContact(step=step, user_id=user.pk) for user in spec.users]
        contacts += [EscalationContact(step=step, email=address.strip()) for address in spec.emails]
        contacts += [EscalationContact(step=step, webhook_url=url.strip()) for url in spec.webhooks]
        for contact in contacts:
            contact.full_clean()
        EscalationContact.objects.bulk_create(contacts)
        created.append(step)
    audit_record(
        actor=actor,
        action="alert.ladder_set",
        obj=project,
        project=project,
        before={"steps": before},
        after={"steps": _ladder_json(project)},
    )
    return created


@transaction.atomic(durable=True)
def duty_shift_add(
    *,
    actor: AnyUser | None,
    project: Project,
    user: AbstractBaseUser,
    starts_at: datetime,
    ends_at: datetime,
    reach: str = "",
) -> DutyShift:
    """Put a member on the project's recovery desk for a while. Raises AlertError for bad input."""
    if not project.memberships.filter(user_id=user.pk).exists():
        raise AlertError(f"{user.get_username()} is not a member of {project.code}")
    if ends_at <= starts_at:
        raise AlertError("a shift ends after it starts")
    shift = DutyShift(
        project=project, user_id=user.pk, starts_at=starts_at, ends_at=ends_at, reach=reach.strip()
    )
    shift.full_clean()
    shift.save()
    audit_record(
        actor=actor,
        action="alert.duty_shift_add",
        obj=shift,
        project=project,
        after={
            "user": user.get_username(),
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reach": shift.reach,
        },
    )
    return shift


@transaction.atomic(durable=True)
def duty_shift_remove(*, actor: AnyUser | None, shift: DutyShift) -> None:
    audit_record(
        actor=actor,
        action="alert.duty_shift_remove",
        obj=shift,
        project=shift.project,
        before={"user": shift.user.get_username(), "starts_at": shift.starts_at.isoformat()},
    )
    shift.delete()
