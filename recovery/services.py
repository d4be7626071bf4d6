"""Incidents, lessons learned and the runbook sections they edit.

Every write is one durable transaction with its audit entry inside
(``incident.*``, ``runbook.section_edit``), and adds a line to the incident's
timeline where it belongs to one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import xxhash
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import AuditEvent, Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser, RoleName
from catalog.services import volume_update
from catalog.subjects import Subject, subject_actions, subject_of
from catalog.volumes import volume_send_off
from recovery.models import (
    Checklist,
    ChecklistItem,
    ChecklistRun,
    Incident,
    IncidentEvent,
    Lesson,
    PracticeScenario,
    RunbookSection,
    RunbookVersion,
)
from recovery.selectors import practice_people

logger = logging.getLogger(__name__)


class IncidentError(Exception):
    """The incident or runbook change is not possible as asked (the message says why)."""


def _user_id(actor: AnyUser | None) -> int | None:
    return int(actor.pk) if isinstance(actor, AbstractBaseUser) and actor.pk is not None else None


def _event(incident: Incident, *, kind: str, text: str, actor: AnyUser | None = None, link: str = "") -> None:
    IncidentEvent.objects.create(
        incident=incident,
        at=timezone.now(),
        kind=kind,
        text=text[:5000],
        author_id=_user_id(actor),
        link=link[:500],
    )


def _alert_timeline(incident: Incident, alert: Alert) -> None:
    """Copy what the audit log knows of the alert (raised, acknowledged, escalated…) into the timeline."""
    labels = {
        "alert.raise": "Alert raised",
        "alert.acknowledge": "Alert acknowledged",
        "alert.escalate": "Alert escalated",
        "alert.resolve": "Alert resolved",
    }
    entries = AuditEvent.objects.filter(
        object_type="alerts.alert", object_id=str(alert.pk), action__in=list(labels)
    ).order_by("pk")
    IncidentEvent.objects.bulk_create(
        IncidentEvent(
            incident=incident,
            at=entry.at,
            kind=IncidentEvent.Kind.ALERT,
            text=f"{labels[entry.action]}: {alert.title}"
            + (f" (step {(entry.after or {}).get('step_name')})" if entry.action == "alert.escalate" else "")
            + (f", by {entry.actor_name}" if entry.actor_name and entry.actor_name != "system" else ""),
            link=f"/alerts/{alert.pk}/",
        )
        for entry in entries
    )


@transaction.atomic(durable=True)
def incident_open(
    *,
    actor: AnyUser | None,
    project: Project,
    title: str,
    cause: str = Incident.Cause.OTHER,
    summary: str = "",
    alert: Alert | None = None,
) -> Incident:
    """Open an incident, by hand or from an alert (of the same project); return it.

    From an alert, the alert's history so far (raised, escalated,
    acknowledged) is put on the timeline. Raises IncidentError without a title
    or for another project's alert.
    """
    if alert is not None and alert.project_id != project.pk:
        raise IncidentError("the alert belongs to another project")
    title = (title or (alert.title if alert else "")).strip()
    if not title:
        raise IncidentError("give the incident a title")
    incident = Incident.objects.create(
        project=project,
        title=title[:200],
        cause=cause if cause in Incident.Cause.values else Incident.Cause.OTHER,
        summary=summary.strip() or (alert.body if alert else ""),
        alert=alert,
        opened_by_id=_user_id(actor),
    )
    if (user_id := _user_id(actor)) is not None:
        incident.people.add(user_id)
    if alert is not None:
        _alert_timeline(incident, alert)
        involved = _alert_involves(alert)
        incident.volumes.add(*project.volumes.filter(pk__in=involved.volume_ids).values_list("pk", flat=True))
    _event(incident, kind=IncidentEvent.Kind.STATE, text="Incident opened", actor=actor)
    _timeline_backfill(incident)
    audit_record(
        actor=actor,
        action="incident.open",
        obj=incident,
        project=project,
        after={"title": incident.title, "cause": incident.cause, "alert": alert.pk if alert else None},
    )
    return incident


@transaction.atomic(durable=True)
def incident_note_add(*, actor: AnyUser, incident: Incident, text: str) -> IncidentEvent:
    if not text.strip():
        raise IncidentError("write something")
    _event(incident, kind=IncidentEvent.Kind.NOTE, text=text.strip(), actor=actor)
    if (user_id := _user_id(actor)) is not None:
        incident.people.add(user_id)
    audit_record(
        actor=actor, action="incident.note", obj=incident, project=incident.project, after={"text": text}
    )
    return incident.events.order_by("-pk").first()  # type: ignore[return-value]  # just created above


@dataclass(frozen=True)
class Impact:
    clips_affected: int
    days_affected: str
    hours_lost: float
    impact: str


@transaction.atomic(durable=True)
def incident_impact_set(
    *,
    actor: AnyUser,
    incident: Incident,
    impact: Impact,
    people: Sequence[AbstractBaseUser] = (),
    volumes: Sequence[Volume] | None = None,
) -> Incident:
    """Record the incident's impact (clips, days, hours lost, volumes involved) and add people involved.

    With ``volumes`` (None: unchanged), they become the volumes involved.
    Restores, handoffs and audits of the volumes and days involved since the
    incident's window opened join the timeline.
    """
    if impact.clips_affected < 0 or impact.hours_lost < 0:
        raise IncidentError("impact figures cannot be negative")
    before: dict[str, object] = {
        "clips": incident.clips_affected,
        "days": incident.days_affected,
        "hours": incident.hours_lost,
    }
    incident.clips_affected, incident.days_affected = (
        impact.clips_affected,
        impact.days_affected.strip()[:200],
    )
    incident.hours_lost, incident.impact = impact.hours_lost, impact.impact.strip()
    incident.save(update_fields=["clips_affected", "days_affected", "hours_lost", "impact"])
    members = set(incident.project.memberships.values_list("user_id", flat=True))
    incident.people.add(*[int(u.pk) for u in people if u.pk in members])
    before["volumes"] = sorted(incident.volumes.values_list("label", flat=True))
    if volumes is not None:
        incident.volumes.set([v for v in volumes if v.project_id == incident.project_id])
    after = {
        "clips": incident.clips_affected,
        "days": incident.days_affected,
        "hours": incident.hours_lost,
        "volumes": sorted(incident.volumes.values_list("label", flat=True)),
    }
    _timeline_backfill(incident)
    audit_record(
        actor=actor,
        action="incident.impact",
        obj=incident,
        project=incident.project,
        before=before,
        after=after,
    )
    return incident


@transaction.atomic(durable=True)
def incident_resolve(*, actor: AnyUser, incident: Incident, resolution: str) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.state == Incident.State.RESOLVED:
        raise IncidentError("the incident is already resolved")
    if not resolution.strip():
        raise IncidentError("say how it was resolved")
    locked.state, locked.resolution, locked.resolved_at = (
        Incident.State.RESOLVED,
        resolution.strip(),
        timezone.now(),
    )
    locked.save(update_fields=["state", "resolution", "resolved_at"])
    _event(locked, kind=IncidentEvent.Kind.STATE, text=f"Resolved: {locked.resolution}", actor=actor)
    audit_record(
        actor=actor,
        action="incident.resolve",
        obj=locked,
        project=locked.project,
        before={"state": Incident.State.OPEN},
        after={"state": locked.state, "resolution": locked.resolution},
    )
    return locked


# --- Automatic timeline: restores, handoffs and audits that belong to an incident ---------------

#: An incident opened by hand (no alert) looks back this far for what belongs to it.
TIMELINE_LOOKBACK = timedelta(hours=24)
#: An incident from an alert looks back this far before the alert's first sighting: the audit,
#: offload or handoff that found the problem was recorded just before it raised the alert.
ALERT_LOOKBACK = timedelta(hours=1)
#: At most this many audit entries are read back when an incident is opened or its scope changes.
TIMELINE_BACKFILL_LIMIT = 2000


@dataclass(frozen=True)
class Involved:
    """What an incident concerns: its alert, volumes, shoot days and clips, and its time window."""

    alert_key: str
    volume_ids: frozenset[int]
    day_ids: frozenset[int]
    clip_ids: frozenset[int]
    since: datetime
    until: datetime | None  # None: still open


def _ids(pattern: str, key: str) -> frozenset[int]:
    return frozenset(int(n) for n in re.findall(pattern, key))


def _alert_involves(alert: Alert) -> Involved:
    """The catalog objects an alert's key names: ``copy.corrupt:volume:3``, ``policy.gap:day:7``…"""
    key = alert.key
    volumes = _ids(r"(?:^|:)(?:volume|card):(\d+)", key) | _ids(r"^volume\.[a-z_]+:(\d+)", key)
    return Involved(
        alert_key=key,
        volume_ids=volumes,
        day_ids=_ids(r"(?:^|:)day:(\d+)", key),
        clip_ids=_ids(r"(?:^|:)clip:(\d+)", key),
        since=alert.first_seen_at,
        until=None,
    )


def incident_involves(incident: Incident) -> Involved:
    """The incident's scope: its alert's, the volumes involved, the shoot days affected (numbers)."""
    alert = incident.alert
    from_alert = _alert_involves(alert) if alert is not None else None
    numbers = [int(n) for n in re.findall(r"\d+", incident.days_affected)]
    days = set(incident.project.days.filter(number__in=numbers).values_list("pk", flat=True))
    since = incident.opened_at - TIMELINE_LOOKBACK
    if from_alert is not None:
        since = min(from_alert.since, incident.opened_at) - ALERT_LOOKBACK
    return Involved(
        alert_key=from_alert.alert_key if from_alert else "",
        volume_ids=frozenset(incident.volumes.values_list("pk", flat=True))
        | (from_alert.volume_ids if from_alert else frozenset()),
        day_ids=frozenset(days) | (from_alert.day_ids if from_alert else frozenset()),
        clip_ids=from_alert.clip_ids if from_alert else frozenset(),
        since=since,
        until=incident.resolved_at,
    )


def _belongs(subject: Subject, involved: Involved, at: datetime) -> bool:
    if at < involved.since or (involved.until is not None and at > involved.until):
        return False
    return bool(
        (involved.alert_key and involved.alert_key in subject.alert_keys)
        or subject.volume_ids & involved.volume_ids
        or subject.day_ids & involved.day_ids
        or subject.clip_ids & involved.clip_ids
    )


def _timeline_line(incident: Incident, entry: AuditEvent, subject: Subject) -> IncidentEvent:
    return IncidentEvent(
        incident=incident,
        at=entry.at,
        kind=subject.kind if subject.kind in IncidentEvent.Kind.values else IncidentEvent.Kind.NOTE,
        text=subject.text[:5000],
        link=subject.link[:500],
        audit_event_id=entry.pk,
    )


def _timeline_backfill(incident: Incident) -> None:
    """Add what already happened in the window and belongs to the incident (in the caller's transaction)."""
    involved = incident_involves(incident)
    entries = AuditEvent.objects.filter(
        project_id=incident.project_id, action__in=list(subject_actions()), at__gte=involved.since
    ).order_by("pk")[:TIMELINE_BACKFILL_LIMIT]
    lines = []
    for entry in entries:
        subject = subject_of(entry)
        if subject is not None and _belongs(subject, involved, entry.at):
            lines.append(_timeline_line(incident, entry, subject))
    # A line already added from the same entry is kept as it is (one line per entry).
    IncidentEvent.objects.bulk_create(lines, ignore_conflicts=True)


@transaction.atomic(durable=True)
def incident_timeline_follow(*, audit_event_id: int) -> int:
    """Put a restore, handoff or fixity audit on the timeline of every open incident it belongs to.

    Called after the commit of each such audit entry (``catalog.audit.audit_listen``,
    installed by ``recovery``'s ``AppConfig.ready``). It belongs to an incident of its
    project when it is about the incident's alert, or one of its volumes, shoot
    days or clips, within the incident's window (from ``ALERT_LOOKBACK`` before its alert's first
    sighting, or ``TIMELINE_LOOKBACK`` before an incident opened by hand, until it is resolved). Safe to call
    twice: one line per entry and incident. Returns how many lines it added.
    The line cites its audit entry, which is the record of what happened: it
    writes no audit entry of its own.
    """
    entry = AuditEvent.objects.filter(pk=audit_event_id).first()
    if entry is None or entry.project_id is None:
        return 0
    incidents = list(
        Incident.objects.filter(project_id=entry.project_id, state=Incident.State.OPEN).select_related(
            "alert", "project"
        )
    )
    if not incidents:
        return 0
    subject = subject_of(entry)
    if subject is None:
        return 0
    already = set(IncidentEvent.objects.filter(audit_event_id=entry.pk).values_list("incident_id", flat=True))
    lines = [
        _timeline_line(incident, entry, subject)
        for incident in incidents
        if incident.pk not in already and _belongs(subject, incident_involves(incident), entry.at)
    ]
    # ignore_conflicts: two deliveries at once still leave one line (the unique constraint decides).
    IncidentEvent.objects.bulk_create(lines, ignore_conflicts=True)
    return len(lines)


@dataclass(frozen=True)
class SectionText:
    """A runbook section's new text for one tier."""

    tier: str
    who: str
    steps: str
    notes: str


def _section_edit(
    *,
    actor: AnyUser | None,
    project: Project,
    text: SectionText,
    incident: Incident | None,
    lesson: Lesson | None,
) -> RunbookVersion:
    if text.tier not in Volume.Tier.values:
        raise IncidentError(f"no tier {text.tier!r}: hot, warm or cold")
    section, _ = RunbookSection.objects.select_for_update().get_or_create(project=project, tier=text.tier)
    previous = section.versions.first()
    if previous and (previous.who, previous.steps, previous.notes) == (text.who, text.steps, text.notes):
        raise IncidentError("the runbook section already says that")
    section.version += 1
    section.save(update_fields=["version"])
    version = RunbookVersion.objects.create(
        section=section,
        version=section.version,
        who=text.who.strip(),
        steps="\n".join(line.strip() for line in text.steps.splitlines() if line.strip()),
        notes=text.notes.strip(),
        changed_by_id=_user_id(actor),
        incident=incident,
        lesson=lesson,
    )
    audit_record(
        actor=actor,
        action="runbook.section_edit",
        obj=section,
        project=project,
        before={
            "version": previous.version,
            "who": previous.who,
            "steps": previous.steps,
            "notes": previous.notes,
        }
        if previous
        else {},
        after={
            "tier": text.tier,
            "version": version.version,
            "who": version.who,
            "steps": version.steps,
            "notes": version.notes,
            "incident": incident.pk if incident else None,
        },
    )
    return version


@transaction.atomic(durable=True)
def runbook_section_edit(*, actor: AnyUser | None, project: Project, text: SectionText) -> RunbookVersion:
    """Write a new version of one tier's runbook section by hand; return it (IncidentError if unchanged)."""
    return _section_edit(actor=actor, project=project, text=text, incident=None, lesson=None)


@transaction.atomic(durable=True)
def lesson_add(
    *, actor: AnyUser, incident: Incident, text: str, action: str = "", runbook: SectionText | None = None
) -> Lesson:
    """Record a lesson learned and its action; with ``runbook``, the action edits that tier's section.

    The runbook version remembers the incident and the lesson; the audit log
    has one ``incident.lesson`` and one ``runbook.section_edit`` entry.
    """
    if not text.strip():
        raise IncidentError("say what was learned")
    lesson = Lesson.objects.create(
        incident=incident, text=text.strip(), action=action.strip(), created_by_id=_user_id(actor)
    )
    version = None
    if runbook is not None:
        version = _section_edit(
            actor=actor, project=incident.project, text=runbook, incident=incident, lesson=lesson
        )
    line = f"Lesson: {lesson.text}" + (f" Action: {lesson.action}" if lesson.action else "")
    if version is not None:
        line += f" (runbook, {runbook.tier if runbook else ''} tier, version {version.version})"
    _event(incident, kind=IncidentEvent.Kind.LESSON, text=line, actor=actor)
    audit_record(
        actor=actor,
        action="incident.lesson",
        obj=incident,
        project=incident.project,
        after={
            "text": lesson.text,
            "action": lesson.action,
            "runbook_version": version.pk if version else None,
        },
    )
    return lesson


# --- Checklists --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def checklist_create(
    *,
    actor: AnyUser,
    project: Project,
    name: str,
    items: Sequence[str],
    kind: str = Checklist.Kind.OTHER,
    role: str = "",
    required_for_signoff: bool = False,
) -> Checklist:
    """Write a project's checklist with its items, in order. Raises IncidentError on bad input."""
    lines = [line.strip()[:300] for line in items if line.strip()]
    if not name.strip() or not lines:
        raise IncidentError("a checklist needs a name and at least one item")
    if role and role not in RoleName.__members__.values():
        raise IncidentError(f"no role {role!r}")
    if Checklist.objects.filter(project=project, name__iexact=name.strip()).exists():
        raise IncidentError(f"{project.code} already has a checklist named {name.strip()!r}")
    checklist = Checklist.objects.create(
        project=project,
        name=name.strip()[:120],
        kind=kind if kind in Checklist.Kind.values else Checklist.Kind.OTHER,
        role=role,
        required_for_signoff=required_for_signoff,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, position=n, text=text) for n, text in enumerate(lines, start=1)
    )
    audit_record(
        actor=actor,
        action="checklist.create",
        obj=checklist,
        project=project,
        after={
            "name": checklist.name,
            "role": role,
            "items": lines,
            "required_for_signoff": required_for_signoff,
        },
    )
    return checklist


@transaction.atomic(durable=True)
def checklist_complete(
    *,
    actor: AnyUser,
    checklist: Checklist,
    ticked: Sequence[int],
    day: ShootDay | None = None,
    note: str = "",
) -> ChecklistRun:
    """Record a completed checklist (who, when, which day); IncidentError unless all items are ticked."""
    items = list(checklist.items.all())
    missing = [item.text for item in items if item.pk not in set(ticked)]
    if missing:
        raise IncidentError(f"{len(missing)} item(s) not ticked: " + "; ".join(missing[:5]))
    if day is not None and day.project_id != checklist.project_id:
        raise IncidentError("the day belongs to another project")
    user_id = _user_id(actor)
    if user_id is None:
        raise IncidentError("only a person completes a checklist")
    run = ChecklistRun.objects.create(
        checklist=checklist,
        day=day,
        completed_by_id=user_id,
        completed_at=timezone.now(),
        items=[item.text for item in items],
        note=note.strip(),
    )
    audit_record(
        actor=actor,
        action="checklist.complete",
        obj=run,
        project=checklist.project,
        after={"checklist": checklist.name, "day": day.number if day else None, "items": len(items)},
    )
    return run


# --- Practice scenarios ----------------------------------------------------------------------

#: How long after a fix's recorded time its audit entry may be written (a proof, then its entry).
FIX_ENTRY_SLACK = timedelta(minutes=1)

PRACTICE_TEXT = {
    PracticeScenario.Kind.CORRUPT_COPY: (
        "{file} is corrupt on {volume}",
        "Restore the file from another copy onto the shuttle and re-verify it.",
    ),
    PracticeScenario.Kind.FAILED_DRIVE: (
        "{volume} reports a failing drive",
        "Register a replacement hot volume and copy every file of {volume} to it, verified.",
    ),
    PracticeScenario.Kind.MISSING_SHUTTLE: (
        "{volume} is missing in transit",
        "Find {volume}: receive its handoff and bring it back online.",
    ),
}


def _flip_a_byte(volume: Volume, copy: Copy) -> None:
    """Corrupt a practice copy on a practice volume: one byte flipped, to a temporary name, renamed.

    Never a camera original: practice volumes are the shuttles and RAIDs of the practice project.
    """
    target = Path(volume.location) / copy.path
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    temporary = target.with_name(f".{target.name}.practice")
    temporary.write_bytes(bytes(data))
    temporary.replace(target)
    copies_record(
        actor=None,
        volume=volume,
        checks=[
            CopyCheck(
                media_file=copy.media_file,
                path=copy.path,
                found=Found.CORRUPT,
                hash_found=xxhash.xxh3_128(target.read_bytes()).hexdigest(),
                error="hash mismatch (practice: a byte was flipped on purpose)",
            )
        ],
        source="Practice",
    )


def _break(*, actor: AnyUser | None, kind: str, volume: Volume, copy: Copy | None) -> None:
    """Break one thing of a practice project (each step is its own service and transaction).

    A step that is still broken is left as it is (breaking twice changes nothing).
    """
    if kind == PracticeScenario.Kind.CORRUPT_COPY:
        if copy is not None and copy.state == Copy.State.VERIFIED:
            _flip_a_byte(volume, copy)
    elif kind == PracticeScenario.Kind.FAILED_DRIVE:
        if volume.health != Volume.Health.FAILING:
            volume_update(actor=actor, volume=volume, changes={"health": Volume.Health.FAILING})
    else:
        volume_send_off(actor=actor, volume=volume, to_place="Courier to the vault", condition="sealed")
        if volume.online:
            volume_update(actor=actor, volume=volume, changes={"online": False})


def practice_break(
    *, actor: AnyUser | None, project: Project, kind: str, volume: Volume
) -> PracticeScenario | None:
    """Break one thing on purpose in a practice project and record it (the seeding command).

    The corrupt copy is the first verified copy on ``volume``; returns None when
    there is none to corrupt. ``actor`` is who hands the missing shuttle to the
    courier (a handoff is made by a person).
    """
    copy = None
    if kind == PracticeScenario.Kind.CORRUPT_COPY:
        copy = (
            Copy.objects.filter(volume=volume, state=Copy.State.VERIFIED)
            .select_related("media_file")
            .order_by("media_file__relative_path")
            .first()
        )
        if copy is None:
            return None
    _break(actor=actor, kind=kind, volume=volume, copy=copy)
    title, hint = PRACTICE_TEXT[PracticeScenario.Kind(kind)]
    names = {"volume": volume.label, "file": copy.media_file.relative_path if copy else ""}
    return practice_scenario_record(
        project=project,
        kind=kind,
        title=title.format(**names),
        hint=hint.format(**names),
        volume=volume,
        media_file=copy.media_file if copy else None,
    )


@transaction.atomic(durable=True)
def practice_scenario_record(
    *,
    project: Project,
    kind: str,
    title: str,
    hint: str,
    volume: Volume,
    media_file: MediaFile | None = None,
) -> PracticeScenario:
    """Record what was just broken on purpose in a practice project (the clock starts now)."""
    scenario = PracticeScenario.objects.create(
        project=project,
        kind=kind,
        title=title,
        hint=hint,
        volume=volume,
        media_file=media_file,
        broken_at=timezone.now(),
    )
    audit_record(
        actor=None,
        action="practice.break",
        obj=scenario,
        project=project,
        after={
            "kind": kind,
            "volume": volume.label,
            "file": media_file.relative_path if media_file else None,
        },
    )
    return scenario


def practice_scenario_reset(*, actor: AnyUser, scenario: PracticeScenario) -> PracticeScenario:
    """Break a practice scenario again so trainees can practise it again; return it, clock restarted.

    1. Break it again: the copy is corrupted again (when it was mended), the drive
       reported failing, the shuttle handed to the courier and offline. Each is
       its own audited service; what is still broken stays as it is.
    2. Restart its clock (``broken_at`` now, not recovered) and audit
       ``practice.reset`` with who reset it and the time the last recovery took.
    A failed drive counts as replaced again only by copies verified after the reset.
    """
    scenario = PracticeScenario.objects.select_related("project", "volume", "media_file").get(pk=scenario.pk)
    copy = None
    if scenario.media_file_id is not None:
        copy = (
            Copy.objects.filter(media_file_id=scenario.media_file_id, volume=scenario.volume)
            .select_related("media_file")
            .first()
        )
    _break(actor=actor, kind=scenario.kind, volume=scenario.volume, copy=copy)
    with transaction.atomic(durable=True):
        locked = PracticeScenario.objects.select_for_update().get(pk=scenario.pk)
        before = {
            "broken_at": locked.broken_at,
            "recovered_at": locked.recovered_at,
            "seconds": locked.seconds_to_recover,
            "recovered_by": locked.recovered_by,
        }
        locked.broken_at, locked.recovered_at, locked.recovered_by = timezone.now(), None, ""
        locked.resets += 1
        locked.save(update_fields=["broken_at", "recovered_at", "recovered_by", "resets"])
        audit_record(
            actor=actor,
            action="practice.reset",
            obj=locked,
            project=locked.project,
            before=before,
            after={"kind": locked.kind, "volume": scenario.volume.label, "resets": locked.resets},
        )
    return locked


def _recovered_at(scenario: PracticeScenario) -> datetime | None:
    """When the scenario's condition came to hold again, from the system's own records; None if not yet.

    The time is the fix's (the copy's new proof, the replacement copies' proofs, the
    volume's last audit entry), not the check's, so the measure does not depend on
    when somebody looks.
    """
    volume = Volume.objects.get(pk=scenario.volume_id)
    if scenario.kind == PracticeScenario.Kind.CORRUPT_COPY:
        copy = Copy.objects.filter(
            media_file_id=scenario.media_file_id, volume=volume, state=Copy.State.VERIFIED
        ).first()
        if copy is None or copy.verified_at is None or copy.verified_at < scenario.broken_at:
            return None
        return copy.verified_at
    if scenario.kind == PracticeScenario.Kind.FAILED_DRIVE:
        replacements = (
            Copy.objects.filter(
                state=Copy.State.VERIFIED,
                volume__tier=volume.tier,
                volume__project_id=volume.project_id,
                verified_at__gte=scenario.broken_at,
            )
            .exclude(volume=volume)
            .exclude(volume__health=Volume.Health.FAILING)
        )
        files = MediaFile.objects.filter(copies__volume=volume)
        if not files.exists():
            return None
        unreplaced = files.exclude(pk__in=replacements.values("media_file_id"))
        if unreplaced.exists():
            return None
        latest = (
            replacements.filter(media_file__in=files)
            .order_by("-verified_at")
            .values_list("verified_at", flat=True)
        ).first()
        return max(latest or scenario.broken_at, scenario.broken_at)
    if not volume.online:
        return None
    entry = (
        AuditEvent.objects.filter(
            object_type="catalog.volume", object_id=str(volume.pk), at__gte=scenario.broken_at
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return entry or timezone.now()


def practice_check(*, project: Project) -> list[PracticeScenario]:
    """Stamp every practice scenario of the project that has been recovered since; return them all.

    Each recovery is audited once (``practice.recovered``, with the seconds it took
    and who acted on it between the break and the fix).
    """
    scenarios = list(PracticeScenario.objects.filter(project=project).select_related("volume", "media_file"))
    for scenario in scenarios:
        if scenario.recovered_at is not None:
            continue
        at = _recovered_at(scenario)
        if at is None:
            continue
        # The fix's own audit entry is written just after the proof time it records.
        people = ", ".join(practice_people(scenario, until=at + FIX_ENTRY_SLACK))[:300]
        with transaction.atomic():
            claimed = PracticeScenario.objects.filter(pk=scenario.pk, recovered_at__isnull=True).update(
                recovered_at=at, recovered_by=people
            )
            if claimed:
                scenario.recovered_at, scenario.recovered_by = at, people
                audit_record(
                    actor=None,
                    action="practice.recovered",
                    obj=scenario,
                    project=project,
                    after={"kind": scenario.kind, "seconds": scenario.seconds_to_recover, "by": people},
                )
    return scenarios
