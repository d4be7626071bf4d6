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
from fpdf import FPDF

from catalog.audit import audit_head
from catalog.models import Copy, Project, ShootDay
from dashboard.selectors import (
    FAILED_COPY_STATES,
    FAILING_JOB_STATES,
    policy_text,
    project_days_figures,
    project_open_alerts,
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
            "occurrences": alert.occurrences,
        }
        for alert in project_open_alerts(project=project)
    ]
    return {
        "project": {"code": project.code, "name": project.name, "policy": policy_text(project)},
        "date": report_date.isoformat(),
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "days": [f.as_json() for f in covered],
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
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


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


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1; anything else is shown as '?', never dropped silently.
    return text.encode("latin-1", "replace").decode("latin-1")


def render_report_pdf(data: dict[str, Any]) -> bytes:
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    project = data["project"]
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0, 10, _latin1(f"{project['code']} daily report - {data['date']}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(
        0,
        5,
        _latin1(f"{project['name']}. Policy: {project['policy']}. Generated {data['generated_at']}."),
        new_x="LMARGIN",
        new_y="NEXT",
    )

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)

    def row(key: str, value: str) -> None:
        pdf.cell(55, 5, _latin1(key))
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    if not data["days"]:
        heading("No shoot day yet")
    for day in data["days"]:
        heading(f"Day {day['day']} ({day['unit']}), {day['date']}: {day['state_label']}")
        signoff = day["signoff"]
        row(
            "Signed off",
            f"yes, by {signoff['by']} at {signoff['at']}"
            if day["signed_off"] and signoff
            else (f"no (reopened by {signoff['by']}: {signoff['comment']})" if signoff else "no"),
        )
        row("Cards offloaded", ", ".join(day["cards"]["offloaded"]) or "none")
        if day["cards"]["missing"]:
            row("Cards still to come", ", ".join(day["cards"]["missing"]))
        row("Clips / size", f"{day['clips']} clips, {day['terabytes']:.3f} TB")
        policy = day["policy"]
        row(
            "Storage policy",
            f"{'met' if policy['met'] else 'NOT met'}: {policy['clips_meeting']} clips meet it, "
            f"{policy['clips_short']} do not",
        )
        jobs = day["jobs"]
        row(
            "Offload jobs",
            f"{jobs['pending']} pending, {jobs['failing']} failing, {jobs['completed']} completed",
        )
        failures = day["verification_failures"]
        row(
            "Verification failures",
            f"{failures['total']} ({failures['corrupt']} corrupt, {failures['missing']} missing, "
            f"{failures['failed']} failed)",
        )
        row("Open review items", str(day["review_open"]))
        for blocker in day["blockers"]:
            row("Not ready", blocker)
    failures = data["failures"]
    if failures["jobs"] or failures["copies"]:
        heading("Failures")
        for job in failures["jobs"]:
            row(f"Card {job['card']} ({job['state']})", job["error"] or "; ".join(job["reasons"]) or "-")
        for copy in failures["copies"]:
            row(f"{copy['volume']}: {copy['state']}", f"{copy['path']} {copy['error']}")
        if failures["copies_total"] > len(failures["copies"]):
            row("", f"... {failures['copies_total']} failed copies in all")
    if data["alerts"]:
        heading("Open alerts")
        for alert in data["alerts"]:
            row(f"{alert['severity']} ({alert['state']})", alert["title"])
    fixity = data.get("fixity")
    if fixity:
        heading(f"Fixity, last {fixity['days']} days")
        row("Window", f"{fixity['since']} to {fixity['until']}")
        row(
            "Re-proven",
            f"{fixity['proven']} copies; {fixity['bytes_checked_text']} read in "
            f"{fixity['files_checked']} files by {fixity['runs']} audits",
        )
        found = fixity["problems"]
        row(
            "Problems found",
            f"{found['corrupt']} corrupt, {found['missing']} missing, {found['extra']} extra, "
            f"{found['moved']} moved",
        )
        row(
            "Unreachable",
            "; ".join(
                f"{u['volume']}"
                + (f" since {u['since']}" if u["since"] else "")
                + (f" ({u['failed_audits']} audits could not reach it)" if u["failed_audits"] else "")
                for u in fixity["unreachable"]
            )
            or "none",
        )
        for v in fixity["volumes"]:
            coverage = "no copies" if v["coverage"] is None else f"{v['coverage']:.1f}%"
            row(
                f"{v['volume']} ({v['tier']}, {v['period_days']} d)",
                f"coverage {coverage} ({v['bytes_proven_text']} of {v['bytes_total_text']}), "
                f"{v['audits']} audits, {v['problems']} problems",
            )
    heading("All days")
    columns = [
        ("Day", 14),
        ("Date", 24),
        ("State", 40),
        ("Clips", 16),
        ("TB", 18),
        ("Short", 16),
        ("Signed off", 40),
    ]
    pdf.set_font("Helvetica", "B", 8)
    for title, width in columns:
        pdf.cell(width, 5, title, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for day in data["overview"]:
        label = f"{day['day']}" + ("" if day["unit"] == "main" else f" {day['unit']}")
        cells = [
            label,
            day["date"],
            day["state_label"],
            str(day["clips"]),
            f"{day['terabytes']:.3f}",
            str(day["clips_short"]),
            day["signed_off_by"] if day["signed_off"] else "no",
        ]
        for (_, width), text in zip(columns, cells, strict=True):
            pdf.cell(width, 5, _latin1(text[:30]), border=1)
        pdf.ln()
    if data.get("audit_anchor"):
        pdf.ln(2)
        pdf.set_font("Helvetica", size=7)
        pdf.multi_cell(0, 4, f"Audit anchor: {data['audit_anchor']}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
