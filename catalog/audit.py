"""The tamper-evident audit log: append and verify.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``) and
``entry_hash = sha256(prev_hash + canonical JSON of its content)``. Changing,
inserting or removing any entry breaks every link after it.

Appends are serialized with a transaction-scoped advisory lock: without it two
workers would read the same "last hash" and fork the chain. The lock is held
until the caller's transaction commits, so chain order equals id order.

Lock order: the chain's lock comes before any alert row. Most services lock
their own rows, append an entry, then raise or resolve an alert; code that
locks an alert row first (escalation, acknowledge, resolve) calls
``audit_lock()`` before it, so no two transactions wait on each other.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
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


AuditListener = Callable[[int], None]
_listeners: list[tuple[Callable[[str], bool], AuditListener]] = []


def audit_listen(listener: AuditListener, *, wants: Callable[[str], bool]) -> None:
    """Call ``listener(entry_id)`` after the commit of every entry whose action ``wants`` accepts.

    Installed at startup by a feature that follows others' work through the
    log (``recovery`` puts restores, handoffs and audits on incident
    timelines). The call runs after the entry's transaction commits, so the
    listener sees committed rows, and robustly: a fault in it is logged and
    never rolls back or breaks the change the entry records.
    """
    _listeners.append((wants, listener))


def audit_lock() -> None:
    """Take the chain's lock now (held until the transaction ends; taking it again is free).

    Call it inside a transaction, before locking a row that other code locks
    after appending an entry (alerts): see "Lock order" above.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])


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
        audit_lock()
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
    for wants, listener in _listeners:
        if wants(action):
            transaction.on_commit(partial(listener, event.pk), robust=True)
    return event


@dataclass(frozen=True)
class AuditEntry:
    """One entry for ``audit_record_many``: the arguments of ``audit_record`` but the actor."""

    action: str
    obj: models.Model | None = None
    project: Project | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def audit_record_many(
    *, actor: AbstractBaseUser | AnonymousUser | None, entries: Sequence[AuditEntry]
) -> list[AuditEvent]:
    """Append several entries to the chain at once, in order; the same chain as one ``audit_record`` each.

    One lock, one read of the head and one INSERT for the lot (a batch of an
    offload writes one entry per clip): the number of queries does not grow
    with the number of entries. Call it inside the transaction of the change.
    """
    if not entries:
        return []
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
        prev = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or GENESIS_HASH
        at, source = timezone.now(), current_source()[:255]
        events: list[AuditEvent] = []
        for entry in entries:
            obj = entry.obj
            event = AuditEvent(
                at=at,
                actor=user,  # type: ignore[misc]  # a concrete User when authenticated
                actor_name=user.get_username() if user is not None else "system",
                source=source,
                project=entry.project,
                action=entry.action,
                object_type=obj._meta.label_lower if obj is not None else "",
                object_id=str(obj.pk) if obj is not None else "",
                object_repr=(str(obj) if obj is not None else "")[:255],
                before=_to_json(entry.before) if entry.before is not None else None,
                after=_to_json(entry.after) if entry.after is not None else None,
                prev_hash=prev,
            )
            event.entry_hash = prev = compute_entry_hash(event)
            events.append(event)
        # PostgreSQL returns the ids in the order given, so chain order is id order.
        AuditEvent.objects.bulk_create(events)
    for event in events:
        for wants, listener in _listeners:
            if wants(event.action):
                transaction.on_commit(partial(listener, event.pk), robust=True)
    return events


@dataclass(frozen=True)
class ChainBreak:
    event_id: int | None  # None: a break found by an anchor, with no entry left to name
    reason: str


@dataclass(frozen=True)
class AuditAnchor:
    """The chain's head at a moment: how many entries it had and the hash of the last one.

    Written by beat to ``REELVAULT_AUDIT_ANCHOR_PATH`` (an append-only file the
    database cannot rewrite) and printed in every daily report.
    """

    count: int
    head_hash: str
    at: str = ""
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "count": self.count, "head_hash": self.head_hash}

    def __str__(self) -> str:
        return f"{self.count}:{self.head_hash}"


def audit_head() -> AuditAnchor:
    """The chain's current head (count 0 and the genesis hash for an empty log)."""
    count = AuditEvent.objects.count()
    head = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
    return AuditAnchor(count, head or GENESIS_HASH, at=timezone.now().isoformat(timespec="seconds"))


def audit_anchor_append(*, path: Path) -> AuditAnchor:
    """Append the chain's head to the anchor file, one JSON line, synced to disk before returning.

    The file is only ever opened for appending; put it on storage the database
    host cannot write (another volume, a WORM share) so rewriting the database
    cannot rewrite the anchors too.
    """
    anchor = audit_head()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(anchor.as_json(), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


class AnchorFileError(ValueError):
    pass


def audit_anchors_read(*, path: Path) -> list[AuditAnchor]:
    """Every anchor of the file, oldest first. A line that is not an anchor raises AnchorFileError."""
    anchors: list[AuditAnchor] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                anchors.append(
                    AuditAnchor(
                        int(data["count"]),
                        str(data["head_hash"]),
                        str(data.get("at", "")),
                        f"{path}:{number}",
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise AnchorFileError(
                    f"{path} line {number} is not an audit anchor: {line.strip()[:80]}"
                ) from exc
    return anchors


def audit_anchor_parse(text: str, *, source: str = "command line") -> AuditAnchor:
    """``COUNT:HASH`` as printed in a daily report."""
    count, _, head_hash = text.partition(":")
    if not count.strip().isdigit() or len(head_hash.strip()) != 64:
        raise AnchorFileError(f"{text!r} is not an anchor: expected COUNT:HASH as the daily report prints it")
    return AuditAnchor(int(count), head_hash.strip(), source=source)


@dataclass
class ChainVerification:
    checked: int
    breaks: list[ChainBreak]
    anchors_checked: int = 0


def audit_chain_verify(*, anchors: Sequence[AuditAnchor] = (), batch_size: int = 5000) -> ChainVerification:
    """Walk the whole chain in id order and report EVERY break, not only the first.

    Each entry must link to the one before it and match its own hash. After a
    break the walk goes on from the stored hash, so each later break is
    reported on its own. Each anchor says "the chain had COUNT entries, the
    last with HEAD_HASH": the entry at that position must still have that
    hash, and the chain must still be at least that long. That catches what
    the links alone cannot: the newest entries deleted, an entry rewritten
    with every later hash recomputed, the table emptied.
    """
    by_count: dict[int, list[AuditAnchor]] = {}
    for anchor in anchors:
        by_count.setdefault(anchor.count, []).append(anchor)
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS_HASH
    checked = 0
    anchors_checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(
                    event.pk,
                    "its prev_hash does not match the entry before it (an entry was removed or inserted)",
                )
            )
        if compute_entry_hash(event) != event.entry_hash:
            breaks.append(ChainBreak(event.pk, "its content does not match its hash (the entry was altered)"))
        expected_prev = event.entry_hash
        checked += 1
        for anchor in by_count.pop(checked, []):
            anchors_checked += 1
            if anchor.head_hash != event.entry_hash:
                breaks.append(
                    ChainBreak(
                        event.pk,
                        f"entry number {checked} does not have the hash anchored at "
                        f"{anchor.at or anchor.source} ({anchor.head_hash[:16]}…): "
                        "history up to it was rewritten",
                    )
                )
    for count, missing in sorted(by_count.items()):
        if count == 0:
            anchors_checked += len(missing)
            continue
        anchor = missing[0]
        anchors_checked += len(missing)
        breaks.append(
            ChainBreak(
                None,
                f"the log has {checked} entries but had {count} at {anchor.at or anchor.source}: "
                f"{count - checked} of the newest entries were deleted (or the table emptied)",
            )
        )
    return ChainVerification(checked, breaks, anchors_checked)


def model_snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The audit 'before'/'after' picture of a model instance: its concrete field values."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return _to_json(data)  # type: ignore[no-any-return]
