"""python manage.py ale_import --project CODE FILE [--apply] [--json] [--ignore-unknown-columns]

Previews an ALE or clip CSV import (what would change, per clip); applies it only
with --apply, in one transaction, and only when the file has no errors. Exits 1
when there are errors (nothing is applied then).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.models import Project
from core.commands import ReelvaultCommand
from formats.ale import DEFAULT_MAX_BYTES
from metadata.ale_import import ALEImportError, ImportPlan, ale_import_apply, ale_import_preview
from metadata.review import revalidate_after_import


class Command(ReelvaultCommand):
    help = "Preview (and with --apply, apply) an ALE or CSV of clip metadata to a project's clips."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project code, e.g. DEMO.")
        parser.add_argument("file", type=Path, help="The .ale (or .csv) file.")
        parser.add_argument("--apply", action="store_true", help="Apply the changes (default: preview only).")
        parser.add_argument("--json", action="store_true", help="Print one machine-readable JSON result.")
        parser.add_argument(
            "--ignore-unknown-columns",
            action="store_true",
            help="Import even when the file has columns Reelvault does not know (they are skipped).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        path: Path = options["file"]
        try:
            with path.open("rb") as handle:
                # One byte past the limit is enough for the parser to refuse a huge file.
                data = handle.read(DEFAULT_MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
        ignore = options["ignore_unknown_columns"]
        if options["apply"]:
            try:
                plan = ale_import_apply(
                    actor=None,
                    project=project,
                    data=data,
                    filename=path.name,
                    ignore_unknown_columns=ignore,
                    after_apply=revalidate_after_import(None),
                )
            except ALEImportError as exc:
                plan = exc.plan
        else:
            plan = ale_import_preview(
                project=project, data=data, filename=path.name, ignore_unknown_columns=ignore
            )
        if options["json"]:
            self.stdout.write(json.dumps(plan.to_dict(), default=str))
        else:
            self._report(plan, apply=options["apply"])
        if not plan.ok:
            raise SystemExit(1)

    def _report(self, plan: ImportPlan, *, apply: bool) -> None:
        out = self.stdout
        out.write(
            f"{plan.file}: {plan.format.upper() or '?'} ({plan.encoding or '?'}), {plan.rows_parsed} rows, "
            f"{len(plan.matched)} matched, {len(plan.unmatched)} unmatched, "
            f"{len(plan.changed)} clips to change"
        )
        for match in plan.matched:
            if not match.changes:
                continue
            out.write(f"  line {match.line}: {match.clip} (by {match.matched_by})")
            for name, change in match.changes.items():
                out.write(f"      {name}: {change['before']!r} -> {change['after']!r}")
        for row in plan.unmatched:
            out.write(f"  line {row.line}: {row.name or '(no name)'} not matched: {row.reason}")
        for warning in plan.warnings:
            where = f"line {warning.line}: " if warning.line is not None else ""
            self.stderr.write(f"warning: {plan.file}, {where}{warning.message}")
        for error in plan.errors:
            where = f", line {error.line}" if error.line is not None else ""
            self.stderr.write(f"error: {plan.file}{where}: {error.message}")
        if not plan.ok:
            self.stderr.write("Nothing was applied.")
        elif apply:
            out.write(self.style.SUCCESS(f"Applied: {len(plan.changed)} clips changed."))
        else:
            out.write("Preview only: run again with --apply to apply these changes.")
