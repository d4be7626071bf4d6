"""The tamper-evident audit log: append and verify.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``) and
``entry_hash = sha256(prev_hash + canonical JSON of its content)``. Changing,
inserting or removing any entry breaks every link after it.

Appends are serialized with a transaction-scoped advisory lock: without it two
workers would read the same "last hash" and fork the chain. The lock is held
until the caller's transaction commits, so chain order equals id order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from catalog.models import AuditEvent, Project
from core.auditsource import current_source

GENESIS_HASH = "0" * 64
# Any constant unique to this lock; pg_advisory_xact_lock takes a bigint.
_AUDIT_LOCK_KEY = 0x5EE1_A0D1


def _to_json(value: Any) -> Any:
    """Reduce a value to plain JSON types so what is hashed is what is stored."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _canonical(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _entry_content(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "source": event.source,
        "project_id": event.project_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
    }


def compute_entry_hash(event: AuditEvent) -> str:
    digest = hashlib.sha256(event.prev_hash.encode())
    digest.update(_canonical(_entry_content(event)))
    return digest.hexdigest()


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    project: Project | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
) -> AuditEvent:
    """Append one entry to the chain and return it.

    Call it inside the transaction of the change it records, so the change
    and its audit entry commit or roll back together.
    """
    user = actor if actor is not None and actor.is_authenticated else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        event = AuditEvent(
            # Truncated to microseconds, which is what PostgreSQL stores, so the
            # hash computed now matches the one recomputed from the row.
            at=timezone.now(),
            actor=user,  # type: ignore[misc]  # a concrete User when authenticated
            actor_name=user.get_username() if user is not None else "system",
            source=current_source()[:255],
            project=project,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=(str(obj) if obj is not None else "")[:255],
            before=_to_json(before) if before is not None else None,
            after=_to_json(after) if after is not None else None,
            prev_hash=last or GENESIS_HASH,
        )
        event.entry_hash = compute_entry_hash(event)
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_chain_verify(*, batch_size: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain in id order.

    Returns ``(entries checked, first break or None)``. Streams in batches so a
    chain of millions of entries does not sit in memory.
    """
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(
                event.pk,
                "its prev_hash does not match the entry before it (an entry was removed or inserted)",
            )
        if compute_entry_hash(event) != event.entry_hash:
            return checked, ChainBreak(
                event.pk, "its content does not match its hash (the entry was altered)"
            )
        expected_prev = event.entry_hash
        checked += 1
    return checked, None


def model_snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The audit 'before'/'after' picture of a model instance: its concrete field values."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return _to_json(data)  # type: ignore[no-any-return]
