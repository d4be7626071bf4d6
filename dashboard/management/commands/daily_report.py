"""Build a project's daily status report now (HTML + PDF) and optionally email it to its subscribers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from alerts.outbox import deliveries_send
from catalog.models import Project
from core.commands import ReelvaultCommand
from dashboard import services
from dashboard.selectors import report_deliveries, today


class Command(ReelvaultCommand):
    help = (
        "Build the daily status report of a project (or --all) for a date; --email sends it to subscribers."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code", nargs="?", help="Project code (or use --all).")
        parser.add_argument("--all", action="store_true", help="Every project with shoot days, as beat does.")
        parser.add_argument("--date", help="YYYY-MM-DD (default: today in REELVAULT_TIME_ZONE).")
        parser.add_argument("--email", action="store_true", help="Email it to the subscribers now.")
        parser.add_argument("--pdf", type=Path, help="Also write the PDF to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            on = date.fromisoformat(options["date"]) if options["date"] else today()
        except ValueError:
            raise CommandError(f"--date {options['date']!r} is not YYYY-MM-DD") from None
        if options["all"]:
            projects = list(Project.objects.filter(days__isnull=False).distinct())
        elif options["code"]:
            project = Project.objects.filter(code=options["code"].upper()).first()
            if project is None:
                raise CommandError(f"no project {options['code']}")
            projects = [project]
        else:
            raise CommandError("give a project code or --all")
        for project in projects:
            report = services.daily_report_generate(project=project, report_date=on, email=options["email"])
            line = f"{project.code} {on}: {len(report.data['days'])} shoot day(s) reported"
            if options["email"]:
                # Send now rather than wait for a worker (whichever comes first
                # sends each email; the other finds it claimed).
                unsent = report_deliveries(report=report).filter(sent_at__isnull=True)
                ids = list(unsent.values_list("pk", flat=True))
                sent = deliveries_send(delivery_ids=ids)
                line += f", emailed to {sent} of {len(ids)} subscriber(s)"
            if options["pdf"]:
                options["pdf"].write_bytes(bytes(report.pdf))
                line += f", PDF at {options['pdf']}"
            self.stdout.write(line)
