"""Writes of the producer's view: sign off and reopen a day, expected cards, daily reports.

Signing off a day's archive integrity (``day_sign_off``) is refused while the
day is not safe: a clip short of the storage policy, an offload that failed or
is still running, a card the camera report lists that was not offloaded. The
check runs inside the transaction that records the sign-off, with the day
locked, on the same figures the dashboard shows. A sign-off releases the day's
cards for reformat (the DITs are told which) and its footage to editorial;
a reopening takes both back. Both, and every refusal, are in the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Delivery
from alerts.outbox import deliveries_enqueue, delivery_new
from alerts.services import notify
from catalog.audit import audit_record
from catalog.display import when_text
from catalog.models import DaySignOff, Project, ShootDay, Volume
from catalog.permissions import AnyUser, Cap, Refused, members_with, refuse, user_can
from dashboard import reports
from dashboard.camera_reports import parse_camera_report
from dashboard.models import DailyReport, ExpectedCard, ReportSubscription
from dashboard.selectors import card_key, day_figures, day_jobs
from recovery.selectors import checklist_blockers
from restore.services import restore_requests_hold, restore_requests_resume

logger = logging.getLogger(__name__)


class SignOffRefused(Refused):
    """The role does not allow it (403). Already written to the audit log."""


class SignOffConflict(Exception):
    """The day cannot be signed off (or reopened) now (409); ``reasons`` says why."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


class DashboardError(Exception):
    """A request that cannot be done as asked (400); the message says what to change."""


def _refuse(*, actor: AnyUser, action: str, day: ShootDay, reason: str) -> NoReturn:
    refuse(actor=actor, action=action, project=day.project, obj=day, reason=reason, error=SignOffRefused)


def _user_pk(actor: AnyUser) -> int:
    if actor.pk is None:
        raise PermissionDenied("log in first")
    return int(actor.pk)


def _day_cards(day: ShootDay, cards_offloaded: Sequence[str]) -> list[dict[str, Any]]:
    """The cards a sign-off releases for reformat: ``[{"id": volume id or None, "label": …}]``.

    The camera cards the day's clips came from and those offloaded for it
    (also offloads recorded without a day, through their card's clips), plus
    the camera rolls of clips cataloged without a card volume (``id`` None):
    the same cards the day's "cards offloaded" figure names.
    """
    volumes = list(
        Volume.objects.filter(kind=Volume.Kind.CARD, project_id=day.project_id)
        .filter(Q(clips_recorded__day=day) | Q(offloads_from__in=day_jobs(day=day)))
        .distinct()
        .order_by("label")
    )
    cards: list[dict[str, Any]] = [{"id": card.pk, "label": card.label} for card in volumes]
    known = {card_key(card.label) for card in volumes}
    for label in cards_offloaded:
        if card_key(label) not in known:
            known.add(card_key(label))
            cards.append({"id": None, "label": label})
    return sorted(cards, key=lambda card: str(card["label"]))


def _day_link(day: ShootDay) -> str:
    return f"/p/{day.project.code}/days/{day.number}/?unit={day.unit}"


# --- Sign-off ----------------------------------------------------------------------------------


def day_sign_off(*, actor: AnyUser, day: ShootDay, comment: str = "") -> DaySignOff:
    """Sign off the day's archive integrity; return the new sign-off row.

    Raises SignOffRefused (403, audited) for a role without SIGN_OFF, and
    SignOffConflict (409, audited as ``day.sign_off_refused``) with the reasons
    when the day is not safe or is already signed off.
    """
    if not user_can(actor, day.project_id, Cap.SIGN_OFF):
        _refuse(
            actor=actor,
            action="day.sign_off_refused",
            day=day,
            reason="only producers and admins sign off a shoot day",
        )
    outcome = _sign_off(actor=actor, day=day, comment=comment)
    if isinstance(outcome, list):
        raise SignOffConflict(outcome)
    return outcome


@transaction.atomic(durable=True)
def _sign_off(*, actor: AnyUser, day: ShootDay, comment: str) -> DaySignOff | list[str]:
    # The day's row lock serializes sign-offs and reopenings of one day; the
    # figures are computed after taking it, in this transaction.
    day = ShootDay.objects.select_for_update(of=("self",)).select_related("project").get(pk=day.pk)
    figures = day_figures(day=day)
    reasons = list(figures.blockers) + checklist_blockers(day=day)  # a required wrap checklist
    if figures.signed_off and figures.signoff is not None:
        reasons.insert(0, f"already signed off by {figures.signoff.actor} at {when_text(figures.signoff.at)}")
    if reasons:
        # Committed with this transaction: the refusal stays in the audit log.
        audit_record(
            actor=actor,
            action="day.sign_off_refused",
            obj=day,
            project=day.project,
            after={"reasons": reasons},
        )
        return reasons
    cards = _day_cards(day, figures.cards_offloaded)
    signoff = DaySignOff.objects.create(
        day=day,
        action=DaySignOff.Action.SIGN_OFF,
        actor_id=_user_pk(actor),
        actor_name=actor.get_username() if isinstance(actor, AbstractBaseUser) else "",
        at=timezone.now(),
        comment=comment,
        figures=figures.as_json(),
        released_cards=cards,
    )
    labels = [str(card["label"]) for card in cards]
    audit_record(
        actor=actor,
        action="day.sign_off",
        obj=day,
        project=day.project,
        after={
            "clips": figures.clips,
            "bytes": figures.bytes,
            "policy": figures.as_json()["policy"]["text"],
            "released_cards": labels,
            "comment": comment,
        },
    )
    notify(
        users=members_with(day.project, need=Cap.INGEST),
        subject=f"{day}: signed off, cards released for reformat",
        body=(
            f"{signoff.actor_name} signed off {day} ({figures.clips} clips, every one meeting the storage "
            f"policy). These cards may now be reformatted: {', '.join(labels) or 'none recorded'}."
        ),
        link=_day_link(day),
        project=day.project,
        kind="day.signed_off",
    )
    notify(
        users=members_with(day.project, need=Cap.TAKE_RELEASES),
        subject=f"{day}: footage signed off and released to editorial",
        body=f"{figures.clips} clips of {day} are safely archived and released to editorial.",
        link=_day_link(day),
        project=day.project,
        kind="day.released",
    )
    # Editorial restores held until this sign-off go now (each re-checked; see restore.services).
    day_id = day.pk
    transaction.on_commit(lambda: restore_requests_resume(day_ids=[day_id]))
    return signoff


def day_reopen(*, actor: AnyUser, day: ShootDay, reason: str) -> DaySignOff:
    """Take a sign-off back (a copy went bad, a card turned up): the cards are no longer released.

    Raises SignOffRefused (403, audited) for a role without SIGN_OFF,
    DashboardError without a reason and SignOffConflict when the day is not signed off.
    """
    if not user_can(actor, day.project_id, Cap.SIGN_OFF):
        _refuse(
            actor=actor,
            action="day.reopen_refused",
            day=day,
            reason="only producers and admins reopen a shoot day",
        )
    if not reason.strip():
        raise DashboardError("say why the day is reopened")
    return _reopen(actor=actor, day=day, reason=reason.strip())


@transaction.atomic(durable=True)
def _reopen(*, actor: AnyUser, day: ShootDay, reason: str) -> DaySignOff:
    day = ShootDay.objects.select_for_update(of=("self",)).select_related("project").get(pk=day.pk)
    latest = DaySignOff.objects.filter(day=day).order_by("-at", "-id").first()
    if latest is None or latest.action != DaySignOff.Action.SIGN_OFF:
        raise SignOffConflict([f"{day} is not signed off"])
    row = DaySignOff.objects.create(
        day=day,
        action=DaySignOff.Action.REOPEN,
        actor_id=_user_pk(actor),
        actor_name=actor.get_username() if isinstance(actor, AbstractBaseUser) else "",
        at=timezone.now(),
        comment=reason,
        figures=day_figures(day=day).as_json(),
    )
    labels = [card["label"] for card in latest.released_cards]
    audit_record(
        actor=actor,
        action="day.reopen",
        obj=day,
        project=day.project,
        before={"signed_off_by": latest.actor_name, "released_cards": labels},
        after={"reason": reason},
    )
    notify(
        users=members_with(day.project, need=Cap.EDIT_METADATA),
        subject=f"{day}: sign-off withdrawn, do NOT reformat its cards",
        body=(
            f"{row.actor_name} reopened {day}: {reason}\n"
            f"Cards no longer released: {', '.join(labels) or 'none'}."
        ),
        link=_day_link(day),
        project=day.project,
        kind="day.reopened",
        level="warning",
    )
    # Editorial restores of the day not started yet wait for the next sign-off again.
    day_id = day.pk
    transaction.on_commit(lambda: restore_requests_hold(day_ids=[day_id]))
    return row


def project_restore_rule_set(*, actor: AnyUser, project: Project, wait: bool) -> bool:
    """Turn on or off "editorial restores wait for the day's sign-off"; return the new setting.

    Producers and admins (``Cap.SIGN_OFF``) decide; anyone else is refused
    (403, audited). Turning it off lets the restores it held go (after the commit).
    """
    if not user_can(actor, project.pk, Cap.SIGN_OFF):
        refuse(
            actor=actor,
            action="project.restore_rule_set_refused",
            project=project,
            obj=project,
            reason="only producers and admins decide whether editorial restores wait for sign-off",
            error=SignOffRefused,
        )
    return _restore_rule_set(actor=actor, project=project, wait=wait)


@transaction.atomic(durable=True)
def _restore_rule_set(*, actor: AnyUser, project: Project, wait: bool) -> bool:
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.restores_wait_for_signoff == wait:
        return wait
    locked.restores_wait_for_signoff = wait
    locked.save(update_fields=["restores_wait_for_signoff"])
    audit_record(
        actor=actor,
        action="project.restore_rule_set",
        obj=locked,
        project=locked,
        before={"restores_wait_for_signoff": not wait},
        after={"restores_wait_for_signoff": wait},
    )
    if not wait:
        project_id = locked.pk
        transaction.on_commit(lambda: restore_requests_resume(project_id=project_id))
    project.restores_wait_for_signoff = wait
    return wait


# --- Expected cards (camera reports) -------------------------------------------------------------


@dataclass(frozen=True)
class ImportedCards:
    by_day: dict[ShootDay, list[ExpectedCard]]

    @property
    def count(self) -> int:
        return sum(len(cards) for cards in self.by_day.values())


@transaction.atomic(durable=True)
def camera_report_import(
    *,
    actor: AnyUser | None,
    project: Project,
    report: Mapping[str, Any],
    source: str = "",
    day: ShootDay | None = None,
) -> ImportedCards:
    """Record the cards a camera report lists as expected on their shoot days.

    Each card goes to ``day`` when given, else to the project's day dated the
    report's shooting date (the main unit's when several units shot that date).
    A card already expected that day is updated, not duplicated. Raises
    DashboardError (what to change) for an unreadable report or an unknown date.
    """
    from dashboard.camera_reports import CameraReportError

    try:
        cards = parse_camera_report(report)
    except CameraReportError as exc:
        raise DashboardError(str(exc)) from exc
    days: dict[date, ShootDay] = {}
    by_day: dict[ShootDay, list[ExpectedCard]] = {}
    for card in cards:
        target = day
        if target is None:
            if card.shooting_date is None:
                raise DashboardError(f"card {card.label} has no shooting date: give the shoot day")
            if card.shooting_date not in days:
                found = list(ShootDay.objects.filter(project=project, date=card.shooting_date))
                if not found:
                    raise DashboardError(
                        f"{project.code} has no shoot day dated {card.shooting_date}: "
                        "create it or give the day"
                    )
                days[card.shooting_date] = next((d for d in found if d.unit == "main"), found[0])
            target = days[card.shooting_date]
        existing = ExpectedCard.objects.filter(day=target, label__iexact=card.label).first()
        row = existing or ExpectedCard(day=target, label=card.label)
        row.camera, row.clips, row.source = card.camera, card.clips, source[:255]
        row.save()
        by_day.setdefault(target, []).append(row)
    for target, rows in by_day.items():
        audit_record(
            actor=actor,
            action="day.expected_cards_import",
            obj=target,
            project=project,
            after={"source": source, "cards": [r.label for r in rows]},
        )
    return ImportedCards(by_day)


@transaction.atomic(durable=True)
def expected_card_remove(*, actor: AnyUser, day: ShootDay, label: str) -> bool:
    """Forget an expected card (listed by mistake, never shot); return whether there was one."""
    deleted, _ = ExpectedCard.objects.filter(day=day, label__iexact=label).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="day.expected_card_remove",
            obj=day,
            project=day.project,
            after={"card": label},
        )
    return bool(deleted)


# --- Daily reports ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def report_subscription_set(*, actor: AnyUser, project: Project, subscribed: bool) -> bool:
    """Subscribe the actor to the project's daily report email, or unsubscribe; return the new state."""
    if subscribed:
        _, created = ReportSubscription.objects.get_or_create(project=project, user_id=_user_pk(actor))
    else:
        deleted, _ = ReportSubscription.objects.filter(project=project, user_id=_user_pk(actor)).delete()
        created = bool(deleted)
    if created:
        audit_record(
            actor=actor,
            action="report.subscribe" if subscribed else "report.unsubscribe",
            obj=project,
            project=project,
        )
    return subscribed


@transaction.atomic(durable=True)
def daily_report_generate(
    *,
    project: Project,
    report_date: date,
    actor: AnyUser | None = None,
    email: bool = False,
) -> DailyReport:
    """Build (or rebuild) the project's report of the date: JSON, HTML and PDF; optionally email it.

    With ``email``, every subscriber with an email address gets it (after the
    commit, from a worker, through the alerts outbox; see ``report_email``).
    """
    data = reports.daily_report_data(project=project, report_date=report_date)
    user = actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None
    report, _ = DailyReport.objects.update_or_create(
        project=project,
        report_date=report_date,
        defaults={
            "trigger": DailyReport.Trigger.MANUAL if user is not None else DailyReport.Trigger.SCHEDULE,
            "generated_at": timezone.now(),
            "generated_by_id": user.pk if user is not None else None,
            "data": data,
            "html": reports.render_report_html(data),
            "pdf": reports.render_report_pdf(data),
        },
    )
    audit_record(
        actor=actor,
        action="report.generate",
        obj=report,
        project=project,
        after={"date": report_date.isoformat(), "email": email, "summary": reports.report_summary(data)},
    )
    if email:
        _email(report)
    return report


def _email(report: DailyReport) -> list[int]:
    """Put one email of the report per subscriber in the outbox; it is sent after the commit."""
    subscribers = (
        ReportSubscription.objects.filter(project=report.project, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )
    return deliveries_enqueue(
        deliveries=[
            delivery_new(
                kind=Delivery.Kind.REPORT,
                recipient=s.user.email,
                payload={"report_id": report.pk},
                user=s.user,
            )
            for s in subscribers
        ]
    )


def daily_reports_run(*, report_date: date | None = None) -> list[int]:
    """Celery beat, at REELVAULT_DAILY_REPORT_TIME: each project's report of the date, emailed once.

    A project is reported on once it has a shoot day. Running it again the
    same date neither rebuilds a report nor emails it twice. Returns the ids
    of the reports built now.
    """
    report_date = report_date or timezone.localdate()
    built = []
    for project in Project.objects.filter(days__isnull=False).distinct():
        if DailyReport.objects.filter(project=project, report_date=report_date).exists():
            continue
        built.append(daily_report_generate(project=project, report_date=report_date, email=True).pk)
    return built


def report_email(delivery: Delivery) -> EmailMessage:
    """The outbox's composer of a report email: HTML + plain text + the PDF (``DashboardConfig.ready``)."""
    report = DailyReport.objects.select_related("project").get(pk=delivery.payload["report_id"])
    link = f"{settings.REELVAULT_BASE_URL.rstrip('/')}/p/{report.project.code}/reports/{report.report_date}/"
    message = EmailMultiAlternatives(
        subject=f"[Reelvault] {report.project.code} daily report {report.report_date}: "
        f"{reports.report_summary(report.data)}"[:250],
        body=(
            f"The daily status report of {report.project.code} is attached (PDF) and at {link}\n\n— Reelvault"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
    )
    message.attach_alternative(report.html, "text/html")
    message.attach(
        f"{report.project.code}-daily-report-{report.report_date}.pdf", bytes(report.pdf), "application/pdf"
    )
    return message
