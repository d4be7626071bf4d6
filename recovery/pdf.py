"""An incident as a PDF (fpdf2, built-in fonts): facts, impact, timeline, lessons learned."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from fpdf import FPDF

from catalog.display import when_text
from recovery.models import Incident


def _latin1(text: str) -> str:
    # The built-in PDF fonts cover Latin-1 only.
    return text.encode("latin-1", "replace").decode("latin-1")


def _when(at: datetime | None) -> str:
    return when_text(at, empty="-")


def incident_pdf(incident: Incident) -> bytes:
    """The incident's page on A4: what happened, to what, who, the timeline and the lessons learned."""
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    title = f"{incident.project.code} incident {incident.pk}: {incident.title}"
    pdf.multi_cell(0, 8, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    opener = incident.opened_by.get_username() if incident.opened_by else "Reelvault"
    people = ", ".join(p.get_username() for p in incident.people.order_by("username")) or "-"
    facts = [
        (
            "State",
            incident.get_state_display()
            + (f" since {_when(incident.resolved_at)}" if incident.resolved_at else ""),
        ),
        ("Cause", incident.get_cause_display()),
        (
            "Opened",
            f"{_when(incident.opened_at)} by {opener}",
        ),
        ("From the alert", incident.alert.title if incident.alert else "-"),
        ("People involved", people),
        ("Clips affected", str(incident.clips_affected)),
        ("Shoot days", incident.days_affected or "-"),
        ("Hours lost", f"{incident.hours_lost:.1f}"),
        ("Impact", incident.impact or "-"),
        ("Resolution", incident.resolution or "-"),
    ]
    for key, value in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(40, 5, _latin1(key))
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    if incident.summary:
        pdf.ln(2)
        pdf.multi_cell(0, 5, _latin1(incident.summary), new_x="LMARGIN", new_y="NEXT")

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)

    heading("Timeline")
    for event in incident.events.select_related("author"):
        author = f" ({event.author.get_username()})" if event.author else ""
        pdf.cell(40, 5, _latin1(_when(event.at)))
        pdf.multi_cell(
            0, 5, _latin1(f"{event.get_kind_display()}: {event.text}{author}"), new_x="LMARGIN", new_y="NEXT"
        )
    heading("Lessons learned")
    lessons = list(
        incident.lessons.select_related("created_by").prefetch_related("runbook_versions__section")
    )
    if not lessons:
        pdf.cell(0, 5, "None yet.", new_x="LMARGIN", new_y="NEXT")
    for lesson in lessons:
        line = lesson.text + (f" Action: {lesson.action}" if lesson.action else "")
        for version in lesson.runbook_versions.all():
            line += f" (runbook, {version.section.get_tier_display()} tier, version {version.version})"
        who = lesson.created_by.get_username() if lesson.created_by else "?"
        pdf.multi_cell(
            0, 5, _latin1(f"- {line} - {who}, {_when(lesson.created_at)}"), new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 7)
    pdf.cell(0, 4, _latin1(f"Printed by Reelvault at {_when(timezone.now())}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
