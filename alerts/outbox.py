"""The outbox: every email and webhook post Reelvault sends, claimed, sent once, retried.

A message is a ``Delivery`` row written inside the transaction of the change
it is about (``deliveries_enqueue``), so a rolled-back change sends nothing.
After the commit one task sends the new rows; the beat sweep
(``deliveries_send_pending``) sends what that task missed (broker down,
worker killed, mail server or receiver down). Each send first takes the row's
lease with a conditional UPDATE, so a redelivered task, the sweep and a
command sending "now" never send one message twice.

Kinds of message:

- ``email``: a notification's email, written from the notification;
- ``webhook``: the row's JSON payload POSTed to its URL (2xx accepted);
- ``report`` (or any other email kind): composed by the composer the owning
  app registered (``email_composer_register``, the dashboard for its daily
  reports), so the outbox needs no import of the apps above it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from alerts.models import Delivery

logger = logging.getLogger(__name__)

#: A kind of message is given up after this many failed attempts.
MAX_ATTEMPTS = {
    Delivery.Kind.EMAIL: 5,
    Delivery.Kind.WEBHOOK: 8,
    Delivery.Kind.REPORT: 5,
    Delivery.Kind.CONTACT: 5,
}
#: A lease older than this is presumed abandoned (the sender died).
CLAIM_TIMEOUT = timedelta(minutes=10)
#: The sweep leaves fresh rows to the task enqueued at commit.
SWEEP_GRACE = timedelta(minutes=1)
#: How many pending rows one sweep sends at most.
SWEEP_BATCH = 500
WEBHOOK_TIMEOUT_SECONDS = 10

#: Builds the email of a delivery; raises to fail the attempt (recorded, retried).
EmailComposer = Callable[[Delivery], EmailMessage]
_composers: dict[str, EmailComposer] = {}


class NotSendable(Exception):
    """The message can never be sent (no address, no composer): it is given up at once."""


def email_composer_register(*, kind: str, composer: EmailComposer) -> None:
    """Let an app above alerts say how its kind of email is written (call it from ``AppConfig.ready``)."""
    _composers[kind] = composer


def delivery_new(
    *, kind: str, recipient: str, payload: Mapping[str, Any] | None = None, **links: Any
) -> Delivery:
    """An unsaved outbox row of ``kind`` with that kind's attempt limit.

    ``links`` are the row's other fields: user, notification, alert, event.
    """
    return Delivery(
        kind=kind,
        recipient=recipient,
        payload=dict(payload or {}),
        max_attempts=MAX_ATTEMPTS.get(Delivery.Kind(kind), 5),
        **links,
    )


def deliveries_enqueue(*, deliveries: Sequence[Delivery]) -> list[int]:
    """Write the messages in the caller's transaction and send them from a worker after the commit.

    Returns the new rows' ids. When the broker is down, the beat sweep sends
    them later.
    """
    if not deliveries:
        return []
    ids = [row.pk for row in Delivery.objects.bulk_create(deliveries)]

    def enqueue() -> None:
        from alerts.tasks import deliveries_send_task

        try:
            deliveries_send_task.apply_async(args=[ids], queue=settings.REELVAULT_ALERTS_QUEUE)
        except Exception:  # the broker is down: the periodic sweep sends them later
            logger.exception("could not enqueue deliveries %s", ids)

    transaction.on_commit(enqueue)
    return ids


def claim_lease(rows: QuerySet[Any], *, lease_field: str = "sending_at") -> bool:
    """Take the sending lease of the one unsent row in ``rows``; True when this caller won it.

    The lease is free, or held for longer than CLAIM_TIMEOUT by a sender that
    died. A conditional UPDATE lets exactly one caller win, so a task that is
    delivered twice never sends twice.
    """
    now = timezone.now()
    free = Q(**{f"{lease_field}__isnull": True}) | Q(**{f"{lease_field}__lt": now - CLAIM_TIMEOUT})
    return rows.filter(free).update(**{lease_field: now}) == 1


def _unsent() -> QuerySet[Delivery]:
    return Delivery.objects.filter(sent_at__isnull=True, attempts__lt=F("max_attempts"))


def _notification_email(delivery: Delivery) -> EmailMessage:
    notification = delivery.notification
    if notification is None:
        raise NotSendable("the notification of this email was deleted")
    parts = [notification.body.strip()]
    if notification.link:
        parts.append(f"{settings.REELVAULT_BASE_URL.rstrip('/')}{notification.link}")
    parts.append("— Reelvault")
    return EmailMessage(
        subject=f"[Reelvault] {notification.subject}",
        body="\n\n".join(part for part in parts if part),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
    )


def _contact_email(delivery: Delivery) -> EmailMessage:
    """An email to an outside contact of an escalation ladder (no account: the text is in the payload)."""
    return EmailMessage(
        subject=f"[Reelvault] {delivery.payload.get('subject', 'Alert')}",
        body=str(delivery.payload.get("body", "")),
        to=[delivery.recipient],
    )


def _post_json(url: str, payload: Mapping[str, Any]) -> int:
    if urlsplit(url).scheme not in {"http", "https"}:
        raise ValueError(f"webhook URL {url!r} is not http(s)")
    request = urllib.request.Request(  # noqa: S310  # scheme checked above
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Reelvault"},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310  # as above
        return int(response.status)


def _send(delivery: Delivery) -> int | None:
    """Send one claimed message; return the HTTP status of a webhook. Raises on failure."""
    if delivery.kind == Delivery.Kind.WEBHOOK:
        return _post_json(delivery.recipient, delivery.payload)
    if not delivery.recipient:
        raise NotSendable("the user has no email address")
    own: dict[str, EmailComposer] = {
        Delivery.Kind.EMAIL: _notification_email,
        Delivery.Kind.CONTACT: _contact_email,
    }
    composer = own.get(delivery.kind) or _composers.get(delivery.kind)
    if composer is None:
        raise NotSendable(f"no composer is registered for {delivery.kind} emails")
    composer(delivery).send()
    return None


def deliveries_send(*, delivery_ids: Sequence[int]) -> int:
    """Send the given messages that are not sent yet; return how many went out.

    Safe to run twice: each row is claimed first. A failure (SMTP or network
    error, a webhook answering non-2xx) is recorded on the row and retried by
    the sweep up to the row's ``max_attempts``; a message that can never go
    out (no address) is given up at once.
    """
    sent = 0
    for delivery_id in delivery_ids:
        if not claim_lease(_unsent().filter(pk=delivery_id)):
            continue
        delivery = Delivery.objects.get(pk=delivery_id)
        status: int | None = None
        attempts = delivery.attempts + 1
        try:
            status = _send(delivery)
        except NotSendable as exc:
            error, attempts = str(exc), delivery.max_attempts
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        except Exception as exc:  # any SMTP/network failure, a bad URL: record it, retry later
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = ""
        if error:
            logger.warning("%s %s to %s failed: %s", delivery.kind, delivery_id, delivery.recipient, error)
            Delivery.objects.filter(pk=delivery_id).update(
                sending_at=None, attempts=attempts, response_status=status, last_error=error[:2000]
            )
            continue
        Delivery.objects.filter(pk=delivery_id).update(
            sent_at=timezone.now(), attempts=attempts, response_status=status, last_error=""
        )
        sent += 1
    return sent


def deliveries_send_pending(*, kinds: Sequence[str] | None = None) -> int:
    """Send what the commit-time task missed, oldest first; return how many went out (beat)."""
    pending = _unsent().filter(created_at__lt=timezone.now() - SWEEP_GRACE)
    if kinds is not None:
        pending = pending.filter(kind__in=kinds)
    return deliveries_send(delivery_ids=list(pending.values_list("pk", flat=True)[:SWEEP_BATCH]))


def deliveries_pending_counts() -> dict[str, int]:
    """How many messages of each kind wait to be sent (not sent, not given up)."""
    counts = dict.fromkeys(Delivery.Kind.values, 0)
    counts.update(_unsent().values_list("kind").annotate(n=Count("id")).order_by())
    return counts
