"""The daily status report: one JSON structure, rendered as an HTML page (also the email) and a PDF.

The report of a date covers the shoot day(s) of that date, or the most recent
day before it when nothing was shot that date: their figures, the policy
state, what failed, who signed off; then every day of the project as a row.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from catalog.audit import audit_head
from catalog.display import when_text
from catalog.models import Copy, DaySignOff, Project, ShootDay
from dashboard.pdf import ReportPdf
from dashboard.selectors import (
    FAILED_COPY_STATES,
    FAILING_JOB_STATES,
    DayFigures,
    policy_text,
    project_days_figures,
    project_open_alerts,
    released_cards,
)
from fixity.selectors import fixity_digest
from formats.units import format_bytes
from ingest.models import OffloadJob

MAX_FAILED_COPIES = 50
FIXITY_DIGEST_DAYS = 7


def report_days(*, project: Project, report_date: date) -> list[ShootDay]:
    """The days a report of this date is about (see the module docstring)."""
    days = ShootDay.objects.filter(project=project, date__lte=report_date)
    latest = days.order_by("-date").values_list("date", flat=True).first()
    if latest is None:
        return []
    return list(days.filter(date=latest).order_by("number", "unit"))


def daily_report_data(*, project: Project, report_date: date) -> dict[str, Any]:
    """What the report says, as JSON (stored with the report; the HTML and PDF render it)."""
    figures = project_days_figures(project=project)
    day_ids = {day.pk for day in report_days(project=project, report_date=report_date)}
    covered = [f for f in figures if f.day.pk in day_ids]
    failing_cards = {label for f in covered for label in f.jobs_failing}
    jobs = [
        {
            "id": job.pk,
            "card": job.label,
            "day": job.day.number if job.day else None,
            "state": job.state,
            "error": job.error,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "finished_at_text": _local(job.finished_at) if job.finished_at else "",
            "reasons": [str(r) for r in job.summary.get("not_safe_reasons", [])[:5]],
            "reason_count": int(job.summary.get("not_safe_reason_count", 0)),
        }
        for job in OffloadJob.objects.filter(day_id__in=day_ids, state__in=FAILING_JOB_STATES)
        .select_related("day")
        .order_by("-created_at")
        if job.label in failing_cards
    ]
    copies = [
        {
            "clip": copy.media_file.clip.name if copy.media_file.clip else "",
            "path": copy.media_file.relative_path,
            "volume": copy.volume.label,
            "state": copy.state,
            "error": copy.last_error[:300],
        }
        for copy in Copy.objects.filter(media_file__clip__day_id__in=day_ids, state__in=FAILED_COPY_STATES)
        .exclude(volume__kind="card")
        .select_related("volume", "media_file__clip")
        .order_by("media_file__clip__name", "media_file__relative_path")[:MAX_FAILED_COPIES]
    ]
    alerts = [
        {
            "id": alert.pk,
            "title": alert.title,
            "severity": alert.severity,
            "state": alert.state,
            "since": alert.first_seen_at.isoformat(),
            "since_text": _local(alert.first_seen_at),
            "occurrences": alert.occurrences,
        }
        for alert in project_open_alerts(project=project)
    ]
    now = timezone.now()
    history = _signoff_history(day_ids=day_ids)
    return {
        "project": {
            "code": project.code,
            "name": project.name,
            "policy": policy_text(project),
            "time_zone": timezone.get_current_timezone_name(),
            "restores_wait_for_signoff": project.restores_wait_for_signoff,
        },
        "date": report_date.isoformat(),
        "date_text": report_date.strftime("%A %d %B %Y"),
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_at_text": _local(now),
        "days": [_day_json(f, history.get(f.day.pk, [])) for f in covered],
        "trends": [
            {
                "label": str(f.day.number) if f.day.unit == "main" else f"{f.day.number}{f.day.unit[:1]}",
                "bytes": f.bytes,
                "success_rate": f.transfer_success_rate,
                "verification_failures": f.verification_failures,
            }
            for f in figures
        ],
        "overview": [
            {
                "day": f.day.number,
                "unit": f.day.unit,
                "date": f.day.date.isoformat(),
                "state": f.light.value,
                "state_label": f.state_label,
                "signed_off": f.signed_off,
                "signed_off_by": f.signoff.actor if f.signed_off and f.signoff else "",
                "clips": f.clips,
                "terabytes": round(f.bytes / 1e12, 3),
                "bytes": f.bytes,
                "size_text": format_bytes(f.bytes),
                "clips_short": f.clips_short_of_policy,
                "failing_jobs": len(f.jobs_failing),
                "verification_failures": f.verification_failures,
            }
            for f in figures
        ],
        "failures": {
            "jobs": jobs,
            "copies": copies,
            "copies_total": sum(f.verification_failures for f in covered),
        },
        "alerts": alerts,
        "fixity": fixity_part(project=project, report_date=report_date),
        # The audit chain's head, so every emailed report is an anchor kept outside the database.
        "audit_anchor": str(audit_head()),
    }


def _local(moment: datetime) -> str:
    return when_text(moment)


def _signoff_history(*, day_ids: set[int]) -> dict[int, list[DaySignOff]]:
    rows: dict[int, list[DaySignOff]] = {}
    for row in DaySignOff.objects.filter(day_id__in=day_ids).order_by("-at", "-id"):
        rows.setdefault(row.day_id, []).append(row)
    return rows


def _day_json(figures: DayFigures, history: list[DaySignOff]) -> dict[str, Any]:
    """A day's figures as the API gives them, plus what a filed report reads: sizes, local times, cards."""
    data = figures.as_json()
    data["size_text"] = format_bytes(figures.bytes)
    if figures.signoff is not None:
        data["signoff"]["at_text"] = _local(figures.signoff.at)
    released = released_cards(history=history)
    data["released_cards"] = (
        None if released is None else {"released": released.released, "cards": released.labels}
    )
    data["history"] = [
        {
            "action": row.get_action_display(),
            "by": row.actor_name,
            "at_text": _local(row.at),
            "comment": row.comment,
            "cards": [str(card["label"]) for card in row.released_cards],
        }
        for row in history[:10]
    ]
    return data


def fixity_part(*, project: Project, report_date: date) -> dict[str, Any]:
    """The weekly fixity digest: audits that finished in the 7 days up to the end of the report's date."""
    end_of_day = timezone.make_aware(datetime.combine(report_date + timedelta(days=1), time.min))
    digest = fixity_digest(project=project, until=min(end_of_day, timezone.now()), days=FIXITY_DIGEST_DAYS)
    return {
        "since": _local(digest.since),
        "until": _local(digest.until),
        "days": FIXITY_DIGEST_DAYS,
        "runs": digest.runs,
        "files_checked": digest.files_checked,
        "bytes_checked": digest.bytes_checked,
        "bytes_checked_text": format_bytes(digest.bytes_checked),
        "proven": digest.proven,
        "problems": {
            "corrupt": digest.corrupt,
            "missing": digest.missing,
            "extra": digest.extra,
            "moved": digest.moved,
        },
        "unreachable": [
            {
                "volume": v.label,
                "since": _local(v.unreachable_since) if v.unreachable_since else "",
                "failed_audits": v.unreachable_runs,
            }
            for v in digest.unreachable
        ],
        "volumes": [
            {
                "volume": v.label,
                "kind": v.kind,
                "tier": v.tier,
                "period_days": v.every_days,
                "coverage": None if v.coverage is None else round(v.coverage, 1),
                "bytes_proven_text": format_bytes(v.bytes_proven),
                "bytes_total_text": format_bytes(v.bytes_total),
                "audits": v.runs,
                "problems": v.corrupt + v.missing + v.extra + v.moved,
            }
            for v in digest.volumes
        ],
    }


def report_summary(data: dict[str, Any]) -> str:
    """One line for an email subject: the state of the report's day(s)."""
    days = data["days"]
    if not days:
        return "no shoot day yet"
    return "; ".join(f"day {d['day']}: {d['state_label']}" for d in days)


def render_report_html(data: dict[str, Any]) -> str:
    """A standalone HTML document (inline styles, no external resources): the page and the email body."""
    return render_to_string("dashboard/report.html", {"r": data})


def render_report_pdf(data: dict[str, Any]) -> bytes:
    """The report as a document a studio files (``dashboard/pdf.py``)."""
    return ReportPdf(data).render()
