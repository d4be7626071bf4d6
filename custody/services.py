"""Custody writes: register and edit volumes, hand them over and receive them, record drive health.

Each top-level service is keyword-only, owns a durable transaction and writes
its audit entry inside it. Alerts (a seal mismatch, a drive turning warning or
failing) are raised through ``alerts.services.alert_raise`` in the same
transaction, so an alert never announces a change that rolled back.

The catalog's ``volume_register``/``volume_update`` own durable transactions of
their own and cannot be nested in ours; registering a volume *with* its
custody record must be one atomic change, so this module writes the Volume row
itself, with the same ``full_clean`` and the same audit action names.
"""

from __future__ import annotations

import logging
import os
import shutil
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Upper
from django.utils import timezone

from alerts.checks import volume_space_check
from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from catalog.audit import audit_record, model_snapshot
from catalog.display import when_text
from catalog.models import MediaFile, Membership, Project, Volume
from catalog.permissions import AnyUser
from catalog.policy import card_safe_to_format
from catalog.worm import worm_volume_change_refuse
from core.queues import host_queue
from custody import blockdev
from custody.identity import Identity, IdentityFileError, identity_read, identity_write
from custody.models import CapacityQuota, CapacityReading, CardFormat, Handoff, SmartReading, VolumeRecord
from formats.smart import DriveHealth, SmartError, run_smartctl

logger = logging.getLogger(__name__)

DEFAULT_PATTERN = "{project}-{kind}-{n:03d}"
#: Two-letter kind codes used by ``{kind}`` in identifier patterns.
KIND_CODES: dict[str, str] = {
    Volume.Kind.CARD: "CD",
    Volume.Kind.SHUTTLE: "SH",
    Volume.Kind.RAID: "RD",
    Volume.Kind.NAS: "NS",
    Volume.Kind.LTO: "LT",
    Volume.Kind.S3: "BK",
}
#: Kinds that are local drives smartctl can ask (NAS, LTO and buckets are not).
DRIVE_KINDS = (Volume.Kind.CARD, Volume.Kind.SHUTTLE, Volume.Kind.RAID)
VOLUME_FIELDS = ("label", "tier", "host", "location", "offsite", "worm", "capacity_bytes", "serial")
RECORD_FIELDS = ("identifier", "site", "drive_model", "purchase_date", "owner", "notes", "device")
_SEVERITY_RANK: dict[str, int] = {
    Volume.Health.HEALTHY: 0,
    Volume.Health.UNKNOWN: 1,
    Volume.Health.WARNING: 2,
    Volume.Health.FAILING: 3,
}


class CustodyError(Exception):
    """A custody action refused, with a sentence a DIT can act on."""


# --- registry ---------------------------------------------------------------


def identifier_from_pattern(*, project: Project, kind: str, pattern: str) -> str:
    """The first identifier the pattern gives that the project does not use yet (in capitals).

    ``{project}`` is the project code, ``{kind}`` the kind's two-letter code
    (SH for a shuttle), ``{n}`` a counter (``{n:03d}`` pads it). A pattern
    without ``{n}`` is a literal identifier and is refused if it is taken.

    Raises:
        CustodyError: unknown placeholder, bad format, or the identifier is taken.
    """
    pattern = pattern.strip() or DEFAULT_PATTERN
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise CustodyError(f"the pattern {pattern!r} is malformed: {exc}") from None
    unknown = fields - {"project", "kind", "n"}
    if unknown:
        raise CustodyError(
            f"the pattern uses {', '.join(sorted(unknown))}; only {{project}}, {{kind}} and {{n}} exist"
        )
    taken = set(
        VolumeRecord.objects.filter(project=project)
        .annotate(up=Upper("identifier"))
        .values_list("up", flat=True)
    )

    def render(n: int) -> str:
        try:
            filled = pattern.format(project=project.code, kind=KIND_CODES.get(kind, kind.upper()), n=n)
            return filled.strip().upper()
        except (ValueError, IndexError, KeyError) as exc:
            raise CustodyError(f"the pattern {pattern!r} cannot be filled in: {exc}") from None

    if "n" not in fields:
        identifier = render(0)
        if identifier.upper() in taken:
            raise CustodyError(f"{identifier} is already used in {project.code}; choose another identifier")
        return identifier
    for n in range(1, 100_000):
        identifier = render(n)
        if identifier.upper() not in taken:
            return identifier
    raise CustodyError(f"the pattern {pattern!r} has no free identifier left")


def _is_local_and_mounted(volume: Volume) -> bool:
    return (
        volume.kind != Volume.Kind.S3
        and volume.host == settings.REELVAULT_HOSTNAME
        and Path(volume.location).is_dir()
    )


def _identity_claim(record: VolumeRecord) -> None:
    """Write the identity file at the volume's root if it is mounted here; refuse a drive of another volume.

    Runs inside the registering transaction: when the drive already carries
    another volume's identity, the registration is refused and rolls back.
    """
    volume = record.volume
    if not _is_local_and_mounted(volume):
        return
    try:
        found = identity_read(volume.location)
    except IdentityFileError as exc:
        raise CustodyError(str(exc)) from None
    if found is not None and found.uuid != record.identity:
        other = VolumeRecord.objects.select_related("project").filter(identity=found.uuid).first()
        if other is not None:
            raise CustodyError(
                f"the drive at {volume.location} is already registered as {other.identifier} "
                f"({other.project.code}); one drive cannot be two volumes"
            )
        raise CustodyError(
            f"the drive at {volume.location} carries the identity {found.identifier} ({found.uuid}) "
            "that this catalog does not know; remove its .reelvault-volume.json if the drive was wiped"
        )
    try:
        identity_write(volume.location, Identity(record.identity, record.identifier, record.project.code))
    except OSError as exc:
        raise CustodyError(f"cannot write the identity file at {volume.location}: {exc}") from None


def _record_snapshot(record: VolumeRecord) -> dict[str, Any]:
    return model_snapshot(record, ["identifier", *RECORD_FIELDS[1:], "seal_problem"]) | {
        "identity": str(record.identity)
    }


@transaction.atomic(durable=True)
def volume_record_register(
    *,
    actor: AnyUser | None,
    project: Project,
    kind: str,
    location: str,
    pattern: str = DEFAULT_PATTERN,
    label: str = "",
    tier: str = Volume.Tier.HOT,
    host: str = "",
    offsite: bool = False,
    worm: bool = False,
    capacity_bytes: int | None = None,
    serial: str = "",
    site: str = "",
    drive_model: str = "",
    purchase_date: date | None = None,
    owner: str = "",
    notes: str = "",
    device: str = "",
) -> VolumeRecord:
    """Register a new volume with its identifier (from ``pattern``); return its record.

    The volume starts offline unless its location is mounted on this host, in
    which case ``.reelvault-volume.json`` is written at its root.

    Raises:
        CustodyError: the pattern gives a taken identifier, or the drive belongs to another volume.
        ValidationError: a field is invalid (label taken, …).
    """
    identifier = identifier_from_pattern(project=project, kind=kind, pattern=pattern)
    volume = Volume(
        project=project,
        label=label.strip() or identifier,
        kind=kind,
        tier=tier,
        host=host,
        location=location,
        offsite=offsite,
        worm=worm,
        capacity_bytes=capacity_bytes,
        serial=serial,
    )
    volume.online = _is_local_and_mounted(volume)
    volume.full_clean()
    volume.save()
    record = VolumeRecord(
        volume=volume,
        project=project,
        identifier=identifier,
        site=site,
        drive_model=drive_model,
        purchase_date=purchase_date,
        owner=owner,
        notes=notes,
        device=device,
    )
    record.full_clean()
    record.save()
    _identity_claim(record)
    audit_record(
        actor=actor,
        action="volume.register",
        obj=volume,
        project=project,
        after=model_snapshot(volume) | {"custody": _record_snapshot(record)},
    )
    return record


@transaction.atomic(durable=True)
def volume_record_attach(
    *, actor: AnyUser | None, volume: Volume, pattern: str = DEFAULT_PATTERN
) -> VolumeRecord:
    """Give a volume registered elsewhere (API, admin, demo) its identifier and record; return it.

    Returns the existing record unchanged when the volume already has one.
    """
    volume = Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=volume.pk)
    existing = VolumeRecord.objects.filter(volume=volume).first()
    if existing is not None:
        return existing
    identifier = identifier_from_pattern(project=volume.project, kind=volume.kind, pattern=pattern)
    record = VolumeRecord(volume=volume, project=volume.project, identifier=identifier)
    record.full_clean()
    record.save()
    _identity_claim(record)
    audit_record(
        actor=actor,
        action="custody.attach",
        obj=volume,
        project=volume.project,
        after=_record_snapshot(record),
    )
    return record


def volume_record_update(
    *, actor: AnyUser | None, record: VolumeRecord, changes: Mapping[str, Any]
) -> VolumeRecord:
    """Edit a registered volume's catalog fields and record fields; the audit entry holds what changed.

    ``seal_problem=""`` clears a seal flag (someone checked the drive).

    Raises:
        CustodyError: an identifier already used in the project, or an unknown field.
        ValidationError: a field is invalid.
        Refused: the volume is WORM, holds copies and would be made rewritable
            (catalog.worm; audited). Its location may change: that moves no file.
    """
    # Outside the transaction below, so that the refusal's audit entry commits.
    worm_volume_change_refuse(actor=actor, volume=record.volume, action="volume.update", changes=changes)
    return _volume_record_update(actor=actor, record=record, changes=changes)


@transaction.atomic(durable=True)
def _volume_record_update(
    *, actor: AnyUser | None, record: VolumeRecord, changes: Mapping[str, Any]
) -> VolumeRecord:
    unknown = set(changes) - set(VOLUME_FIELDS) - set(RECORD_FIELDS) - {"seal_problem"}
    if unknown:
        raise CustodyError(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    record = (
        VolumeRecord.objects.select_for_update(of=("self",))
        .select_related("volume", "project")
        .get(pk=record.pk)
    )
    volume = record.volume
    if "identifier" in changes:
        changes = {**changes, "identifier": str(changes["identifier"]).strip().upper()}
        clash = (
            VolumeRecord.objects.filter(project=record.project, identifier__iexact=changes["identifier"])
            .exclude(pk=record.pk)
            .exists()
        )
        if clash:
            raise CustodyError(f"{changes['identifier']} is already used in {record.project.code}")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        target: VolumeRecord | Volume = volume if name in VOLUME_FIELDS else record
        old = getattr(target, name)
        if old != value:
            before[name], after[name] = old, value
            setattr(target, name, value)
    if not after:
        return record
    volume.full_clean()
    record.full_clean()
    volume.save()
    record.save()
    if {"identifier", "host", "location"} & set(after):
        _identity_claim(record)  # the drive's file follows its identifier and its new mount
    audit_record(
        actor=actor, action="volume.update", obj=volume, project=record.project, before=before, after=after
    )
    return record


# --- custody handoffs ---------------------------------------------------------


def _seals(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip().upper() for v in values if v.strip()))


def _member(project: Project, user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    if user is None:
        return None
    if not Membership.objects.filter(project=project, user_id=user.pk).exists() and not getattr(
        user, "is_superuser", False
    ):
        raise CustodyError(f"{user.get_username()} is not a member of {project.code}; name a place instead")
    return user


@transaction.atomic(durable=True)
def handoff_create(
    *,
    actor: AnyUser | None,
    volume: Volume,
    to_user: AbstractBaseUser | None = None,
    to_place: str = "",
    from_user: AbstractBaseUser | None = None,
    from_place: str = "",
    handed_at: datetime | None = None,
    where: str = "",
    seals: Sequence[str] = (),
    condition: str = "",
) -> Handoff:
    """Hand a volume over: it is in transit until the receiver confirms the seals.

    The sender defaults to whoever received it last (or its site). People must
    be members of the project; places are free text.

    Raises:
        CustodyError: a non-member named, nobody named, or the volume is already in transit.
    """
    volume = Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=volume.pk)
    project = volume.project
    if Handoff.objects.filter(volume=volume, state=Handoff.State.IN_TRANSIT).exists():
        raise CustodyError(f"{volume.label} is already in transit; it must be received before it moves again")
    to_user, from_user = _member(project, to_user), _member(project, from_user)
    if to_user is None and not to_place.strip():
        raise CustodyError("say to whom or to which place the volume goes")
    if from_user is None and not from_place.strip():
        last = Handoff.objects.filter(volume=volume).select_related("to_user").first()
        record = VolumeRecord.objects.filter(volume=volume).first()
        if last is not None:
            from_user, from_place = last.to_user, last.to_place
        else:
            from_place = (record.site if record else "") or "unrecorded"
    handoff = Handoff(
        volume=volume,
        project=project,
        from_user_id=from_user.pk if from_user else None,
        from_place=from_place.strip(),
        to_user_id=to_user.pk if to_user else None,
        to_place=to_place.strip(),
        handed_at=handed_at or timezone.now(),
        where=where.strip(),
        seals_applied=_seals(seals),
        condition=condition.strip(),
        created_by_id=actor.pk if actor is not None and actor.is_authenticated else None,
    )
    handoff.full_clean()
    handoff.save()
    audit_record(
        actor=actor,
        action="custody.handoff",
        obj=handoff,
        project=project,
        after={
            "volume": volume.label,
            "from": handoff.from_name,
            "to": handoff.to_name,
            "where": handoff.where,
            "seals": handoff.seals_applied,
            "condition": handoff.condition,
        },
    )
    return handoff


@transaction.atomic(durable=True)
def handoff_receive(
    *, actor: AnyUser | None, handoff: Handoff, seals_found: Sequence[str], note: str = ""
) -> Handoff:
    """Confirm receipt with the seal numbers found on the volume; return the handoff.

    A seal applied but not found, or a seal found that was not applied, sets
    ``seal_mismatch``, flags the volume (``VolumeRecord.seal_problem``) and
    raises a critical alert.

    Raises:
        CustodyError: the handoff was already received.
    """
    handoff = (
        Handoff.objects.select_for_update(of=("self",)).select_related("volume", "project").get(pk=handoff.pk)
    )
    if handoff.state != Handoff.State.IN_TRANSIT:
        raise CustodyError("this handoff was already received")
    found = _seals(seals_found)
    missing = [s for s in handoff.seals_applied if s not in found]
    unexpected = [s for s in found if s not in handoff.seals_applied]
    handoff.state = Handoff.State.RECEIVED
    handoff.received_at = timezone.now()
    handoff.received_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    handoff.seals_found = found
    handoff.seal_mismatch = bool(missing or unexpected)
    handoff.receive_note = note.strip()
    handoff.full_clean()
    handoff.save()
    volume = handoff.volume
    if handoff.seal_mismatch:
        parts = []
        if missing:
            parts.append(f"seal {', '.join(missing)} applied but not found")
        if unexpected:
            parts.append(f"seal {', '.join(unexpected)} found but never applied")
        problem = f"{'; '.join(parts)} (handoff {handoff.from_name} → {handoff.to_name})"
        record = VolumeRecord.objects.filter(volume=volume).first()
        if record is not None:
            record.seal_problem = problem
            record.save(update_fields=["seal_problem"])
        alert_raise(
            project=handoff.project,
            key=f"custody.seal:handoff:{handoff.pk}",
            kind="custody.seal_mismatch",
            severity=Severity.CRITICAL,
            title=f"Seal mismatch on {record.identifier if record else volume.label}",
            body=f"{volume.label}: {problem}. Check the drive's contents before using it.",
            link=f"/volumes/{volume.pk}/",
            items=[*missing, *unexpected],
        )
    audit_record(
        actor=actor,
        action="custody.receive",
        obj=handoff,
        project=handoff.project,
        before={"state": Handoff.State.IN_TRANSIT, "seals": handoff.seals_applied},
        after={
            "state": handoff.state,
            "seals_found": found,
            "seal_mismatch": handoff.seal_mismatch,
            "note": handoff.receive_note,
        },
    )
    return handoff


# --- drive health -------------------------------------------------------------


@dataclass(frozen=True)
class DriveResult:
    """One smartctl answer (``health``) or why there is none (``error``)."""

    device: str
    health: DriveHealth | None
    error: str = ""

    @property
    def verdict(self) -> str:
        return self.health.verdict.value if self.health is not None else Volume.Health.UNKNOWN


def drive_read(device: str) -> DriveResult:
    """Run smartctl on one device; every fault becomes a result with an error, never an exception."""
    if not Path(device).exists():
        return DriveResult(device, None, f"the device {device} has vanished (unplugged or renamed)")
    try:
        health = run_smartctl(
            device, smartctl=settings.REELVAULT_SMARTCTL, timeout=settings.REELVAULT_SMARTCTL_TIMEOUT
        )
    except (SmartError, ValueError) as exc:
        return DriveResult(device, None, str(exc))
    return DriveResult(device, health)


def _devices_for(volume: Volume, record: VolumeRecord | None) -> tuple[list[str], str]:
    if record is not None and record.device:
        return [record.device], ""
    try:
        return blockdev.drives_behind(volume.location), ""
    except blockdev.DeviceError as exc:
        return [], str(exc)


def _reading(volume: Volume, host: str, result: DriveResult, now: datetime) -> SmartReading:
    h = result.health
    reasons = list(h.reasons) if h is not None else []
    if h is not None and h.verdict == "unknown" and not reasons:
        reasons = ["SMART status not reported"]
    return SmartReading(
        volume=volume,
        taken_at=now,
        host=host,
        device=result.device,
        verdict=result.verdict,
        reasons=reasons,
        error=result.error,
        drive_model=(h.model or "") if h else "",
        serial=(h.serial or "") if h else "",
        passed=h.passed if h else None,
        power_on_hours=h.power_on_hours if h else None,
        temperature_c=h.temperature_c if h else None,
        reallocated_sectors=h.reallocated_sectors if h else None,
        pending_sectors=h.pending_sectors if h else None,
        crc_errors=h.crc_errors if h else None,
        nvme_percentage_used=h.nvme_percentage_used if h else None,
        nvme_media_errors=h.nvme_media_errors if h else None,
        exit_status=h.exit_status if h else None,
    )


@transaction.atomic(durable=True)
def volume_health_store(*, volume_id: int, host: str, results: Sequence[DriveResult]) -> Volume:
    """Store one check's readings for a volume and set its health; return the volume.

    The volume's health is the worst of its drives (a RAID is as healthy as its
    worst member; "unknown" beats "healthy", so a hidden drive is never good).
    A fault (no answer) does not lower a warning or failing verdict: a dying
    drive that hangs smartctl stays failing. Turning warning or failing raises
    an alert and writes an audit entry.
    """
    volume = Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=volume_id)
    now = timezone.now()
    readings = SmartReading.objects.bulk_create([_reading(volume, host, r, now) for r in results])
    verdict = max(
        (r.verdict for r in readings), key=_SEVERITY_RANK.__getitem__, default=Volume.Health.UNKNOWN
    )
    previous = volume.health
    if verdict == Volume.Health.UNKNOWN and previous in (Volume.Health.WARNING, Volume.Health.FAILING):
        verdict = previous
    if verdict == previous:
        return volume
    volume.health = verdict
    volume.save(update_fields=["health"])
    reasons = [reason for r in readings for reason in ([r.error] if r.error else r.reasons)]
    audit_record(
        actor=None,
        action="volume.health",
        obj=volume,
        project=volume.project,
        before={"health": previous},
        after={"health": verdict, "reasons": reasons[:20]},
    )
    if _SEVERITY_RANK[verdict] > max(_SEVERITY_RANK[previous], _SEVERITY_RANK[Volume.Health.UNKNOWN]):
        record = VolumeRecord.objects.filter(volume=volume).first()
        name = record.identifier if record else volume.label
        alert_raise(
            project=volume.project,
            key=f"drive.health:volume:{volume.pk}",
            kind=f"drive.{verdict}",
            severity=Severity.CRITICAL if verdict == Volume.Health.FAILING else Severity.WARNING,
            title=f"Drive {verdict}: {name}",
            body=f"{volume.label} on {host}: " + "; ".join(reasons[:5]) + ". Plan its replacement.",
            link=f"/volumes/{volume.pk}/",
            items=[r.device for r in readings],
        )
    return volume


def drive_health_check(*, host: str) -> list[Volume]:
    """Read SMART for every drive-backed volume mounted on ``host`` (this host); return the volumes read.

    Volumes not mounted here are skipped (an offline shuttle is normal). Each
    device is read once per run even if several volumes share it. smartctl runs
    outside any transaction; each volume's readings are stored in their own.
    """
    if host != settings.REELVAULT_HOSTNAME:
        logger.warning("drive health check for %s received on %s: skipped", host, settings.REELVAULT_HOSTNAME)
        return []
    volumes = list(
        Volume.objects.filter(host=host, kind__in=DRIVE_KINDS).select_related("custody").order_by("pk")
    )
    cache: dict[str, DriveResult] = {}
    checked: list[Volume] = []
    for volume in volumes:
        if not Path(volume.location).is_dir():
            continue
        record = getattr(volume, "custody", None)
        devices, error = _devices_for(volume, record)
        if error:
            results = [DriveResult("", None, error)]
        else:
            for device in devices:
                if device not in cache:
                    cache[device] = drive_read(device)
            results = [cache[device] for device in devices]
        checked.append(volume_health_store(volume_id=volume.pk, host=host, results=results))
    return checked


def drive_health_dispatch() -> list[str]:
    """Send one drive health check to each host that mounts drive-backed volumes; return the hosts."""
    from custody.tasks import drive_health_check_task

    hosts = sorted(
        set(Volume.objects.filter(kind__in=DRIVE_KINDS).exclude(host="").values_list("host", flat=True))
    )
    for host in hosts:
        drive_health_check_task.apply_async(args=[host], queue=host_queue(host))
    return hosts


# --- live capacity --------------------------------------------------------------

#: Kinds that stay mounted where they are: one going unreachable is a problem to
#: report (a card or shuttle leaving its cart is not).
FIXED_KINDS = (Volume.Kind.RAID, Volume.Kind.NAS)


@dataclass(frozen=True)
class Measure:
    """What a host found at a volume's mount point."""

    volume_id: int
    online: bool
    free_bytes: int | None = None
    total_bytes: int | None = None
    problem: str = ""
    claimed: Volume | None = None  # the volume whose identity file was found there instead


def _measure(volume: Volume, host: str) -> Measure:
    from custody.selectors import VolumeIdentityError, volume_identity_check, volume_identity_find

    location = Path(volume.location)
    if not location.is_absolute() or not location.is_dir():
        return Measure(volume.pk, False, problem=f"{volume.location} is not mounted on {host}")
    try:
        check = volume_identity_check(volume=volume)
    except VolumeIdentityError as exc:
        return Measure(volume.pk, False, problem=str(exc), claimed=volume_identity_find(path=volume.location))
    record = VolumeRecord.objects.select_related("project").filter(volume=volume).first()
    if record is not None and not check.found:
        # An unmounted mount point is an empty folder on the system disk: never report
        # it as the drive. A mounted file system, or a folder holding data, without an
        # identity file is the registered drive seen here for the first time: label it.
        if not os.path.ismount(location) and not any(location.iterdir()):
            return Measure(
                volume.pk, False, problem=f"{location} is an empty folder, not the drive: is it mounted?"
            )
        try:
            identity_write(location, Identity(record.identity, record.identifier, record.project.code))
        except OSError as exc:
            return Measure(volume.pk, False, problem=f"cannot write the identity file at {location}: {exc}")
    try:
        usage = shutil.disk_usage(location)
    except OSError as exc:
        return Measure(volume.pk, False, problem=f"cannot measure {location}: {exc.strerror or exc}")
    return Measure(volume.pk, True, usage.free, usage.total)


def _name(volume: Volume) -> str:
    record = VolumeRecord.objects.filter(volume=volume).only("identifier").first()
    return record.identifier if record else volume.label


def _online_set(volume: Volume, *, online: bool, reason: str) -> None:
    """Record a volume going online or offline (audit); a fixed volume unreachable raises an alert.

    A volume in transit is expected to be unreachable: no alert for it.
    """
    if volume.online == online:
        return
    volume.online = online
    volume.save(update_fields=["online"])
    audit_record(
        actor=None,
        action="volume.online" if online else "volume.offline",
        obj=volume,
        project=volume.project,
        before={"online": not online},
        after={"online": online, "reason": reason},
    )
    key = f"volume.unreachable:{volume.pk}"
    if online:
        alert_resolve_key(key=key, resolution=f"{volume.label} is reachable again")
        return
    handoff = Handoff.objects.filter(volume=volume, state=Handoff.State.IN_TRANSIT).first()
    if volume.kind in FIXED_KINDS and handoff is None:
        alert_raise(
            project=volume.project,
            key=key,
            kind="volume.unreachable",
            severity=Severity.WARNING,
            title=f"Volume {_name(volume)} is unreachable",
            body=f"{volume.label}: {reason}. Offloads and restores cannot use it until it is back.",
            link=f"/volumes/{volume.pk}/",
        )


@transaction.atomic(durable=True)
def volume_capacity_store(*, host: str, measure: Measure) -> CapacityReading:
    """Store one host report of a volume, set its online state and free bytes; return the reading.

    The total is the volume's capacity when none was recorded (otherwise the
    capacity printed on the drive stays). A folder carrying another volume's
    identity is offline with the reason; when that other volume is online on
    another host, two hosts claim one drive and an alert says so.
    """
    volume = (
        Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=measure.volume_id)
    )
    reading = CapacityReading.objects.create(
        volume=volume,
        taken_at=timezone.now(),
        host=host,
        online=measure.online,
        free_bytes=measure.free_bytes,
        total_bytes=measure.total_bytes,
        problem=measure.problem,
    )
    _online_set(volume, online=measure.online, reason=measure.problem or f"mounted on {host}")
    if measure.online:
        volume.free_bytes = measure.free_bytes
        if volume.capacity_bytes is None:
            volume.capacity_bytes = measure.total_bytes
        volume.save(update_fields=["free_bytes", "capacity_bytes"])
        volume_space_check(volume=volume)
    claimed = measure.claimed
    if claimed is not None and claimed.pk != volume.pk:
        _identity_clash(volume, claimed, host)
    return reading


def _identity_clash(volume: Volume, claimed: Volume, host: str) -> None:
    """The drive at ``volume``'s mount on ``host`` carries ``claimed``'s identity: say so, loudly."""
    where = f"{host}:{volume.location}"
    elsewhere = (
        f" while {claimed.host} reports it online at {claimed.location}"
        if claimed.online and claimed.host != host
        else ""
    )
    alert_raise(
        project=claimed.project,
        key=f"custody.identity_clash:volume:{claimed.pk}",
        kind="custody.identity_clash",
        severity=Severity.CRITICAL,
        title=f"Two mounts claim to be {_name(claimed)}",
        body=(
            f"The drive mounted at {where} (registered there as {volume.label}) carries the identity of "
            f"{_name(claimed)}{elsewhere}. A cloned drive or a swapped mount: check which drive is which "
            "before writing to either."
        ),
        link=f"/volumes/{claimed.pk}/",
        items=[where, f"{claimed.host}:{claimed.location}"],
    )


def volume_capacity_report(*, host: str) -> list[CapacityReading]:
    """Report every volume mounted on ``host`` (this host): online, free and total bytes; return the readings.

    A volume registered on this host whose folder is missing (unplugged) or
    carries another volume's identity is reported offline at once. Measuring
    runs outside any transaction; each volume is stored in its own.
    """
    if host != settings.REELVAULT_HOSTNAME:
        logger.warning("capacity report for %s received on %s: skipped", host, settings.REELVAULT_HOSTNAME)
        return []
    volumes = list(Volume.objects.filter(host=host).exclude(kind=Volume.Kind.S3).order_by("pk"))
    return [volume_capacity_store(host=host, measure=_measure(volume, host)) for volume in volumes]


@transaction.atomic(durable=True)
def _offline_mark(*, volume_id: int, reason: str) -> None:
    volume = Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=volume_id)
    _online_set(volume, online=False, reason=reason)


def volumes_unreported_mark(*, now: datetime | None = None) -> list[int]:
    """Mark offline each online volume its host has not reported for REELVAULT_VOLUME_OFFLINE_SECONDS.

    Returns their ids. A volume in transit goes offline without an alert (custody expects it).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.REELVAULT_VOLUME_OFFLINE_SECONDS)
    last = CapacityReading.objects.filter(volume=OuterRef("pk")).order_by("-taken_at").values("taken_at")[:1]
    stale = (
        Volume.objects.filter(online=True)
        .exclude(kind=Volume.Kind.S3)
        .exclude(host="")
        .annotate(last_report=Subquery(last))
        .filter(Q(last_report__lt=cutoff) | Q(last_report__isnull=True, created_at__lt=cutoff))
    )
    marked = []
    for volume in stale:
        when = volume.last_report
        reason = (
            f"{volume.host} has not reported it since {when_text(when)}"
            if when is not None
            else f"{volume.host} has never reported it"
        )
        _offline_mark(volume_id=volume.pk, reason=reason)
        marked.append(volume.pk)
    return marked


def capacity_dispatch() -> list[str]:
    """Ask each host that mounts volumes for a report, mark unreported volumes offline, prune old readings.

    Returns the hosts asked. A report not started within one period expires
    (a host that is down does not pile them up).
    """
    from custody.tasks import volume_capacity_report_task

    hosts = sorted(
        set(Volume.objects.exclude(kind=Volume.Kind.S3).exclude(host="").values_list("host", flat=True))
    )
    for host in hosts:
        volume_capacity_report_task.apply_async(
            args=[host], queue=host_queue(host), expires=settings.REELVAULT_CAPACITY_REPORT_SECONDS
        )
    volumes_unreported_mark()
    keep = timezone.now() - timedelta(days=settings.REELVAULT_CAPACITY_HISTORY_DAYS)
    CapacityReading.objects.filter(taken_at__lt=keep).delete()
    return hosts


@transaction.atomic(durable=True)
def capacity_quota_set(
    *,
    actor: AnyUser | None,
    project: Project,
    kind: str,
    quota_bytes: int | None,
    planned_bytes_per_day: int | None = None,
) -> CapacityQuota | None:
    """Set (or, with ``quota_bytes=None``, remove) the project's quota for one kind of volume.

    Returns the quota, or None when removed.
    """
    existing = CapacityQuota.objects.select_for_update().filter(project=project, kind=kind).first()
    before = (
        {"quota_bytes": existing.quota_bytes, "planned_bytes_per_day": existing.planned_bytes_per_day}
        if existing
        else None
    )
    if quota_bytes is None:
        if existing is not None:
            existing.delete()
            audit_record(
                actor=actor, action="custody.quota", obj=project, project=project, before=before, after=None
            )
        return None
    quota = existing or CapacityQuota(project=project, kind=kind)
    quota.quota_bytes, quota.planned_bytes_per_day = quota_bytes, planned_bytes_per_day
    quota.full_clean()
    quota.save()
    audit_record(
        actor=actor,
        action="custody.quota",
        obj=project,
        project=project,
        before=before,
        after={"kind": kind, "quota_bytes": quota_bytes, "planned_bytes_per_day": planned_bytes_per_day},
    )
    return quota


# --- card lifecycle -----------------------------------------------------------------


@transaction.atomic(durable=True)
def card_format_confirm(
    *, actor: AnyUser | None, card: Volume, camera: str = "", note: str = ""
) -> CardFormat:
    """Record the DIT's confirmation that a card was formatted and returned to camera; return it.

    The card's files stay in the catalog (their copies live elsewhere); the
    card itself goes offline, so no restore tries to read it.

    Raises:
        CustodyError: not a camera card, not safe to format (the storage policy
            says why), or already confirmed with nothing offloaded since.
    """
    card = Volume.objects.select_for_update(of=("self",)).select_related("project").get(pk=card.pk)
    if card.kind != Volume.Kind.CARD:
        raise CustodyError(f"{card.label} is a {card.get_kind_display().lower()}, not a camera card")
    policy = card_safe_to_format(card_id=card.pk, limit=5)
    if not policy.meets:
        why = "; ".join(policy.short) or "none of its files is in the catalog"
        raise CustodyError(f"card {card.label} is not safe to format: {why}")
    last = CardFormat.objects.filter(volume=card).first()
    newest = MediaFile.objects.filter(card=card).order_by("-created_at").values_list("created_at", flat=True)
    if last is not None and (newest.first() or last.formatted_at) <= last.formatted_at:
        raise CustodyError(
            f"card {card.label} was already confirmed formatted on "
            f"{when_text(last.formatted_at)}; nothing was offloaded from it since"
        )
    files = MediaFile.objects.filter(card=card).count()
    confirmation = CardFormat(
        volume=card,
        project=card.project,
        formatted_at=timezone.now(),
        formatted_by_id=actor.pk if actor is not None and actor.is_authenticated else None,
        camera=camera.strip(),
        note=note.strip(),
        files=files,
    )
    confirmation.full_clean()
    confirmation.save()
    if card.online:
        card.online = False
        card.save(update_fields=["online"])
    audit_record(
        actor=actor,
        action="card.formatted",
        obj=card,
        project=card.project,
        after={"files": files, "camera": confirmation.camera, "note": confirmation.note},
    )
    return confirmation
