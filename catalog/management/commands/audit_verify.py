"""Walk the audit log's hash chain and check it against the anchors; print every break and exit 1 if any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from catalog.audit import (
    AnchorFileError,
    AuditAnchor,
    audit_anchor_parse,
    audit_anchors_read,
    audit_chain_verify,
)
from core.commands import ReelvaultCommand


class Command(ReelvaultCommand):
    help = (
        "Verify the audit log's hash chain from the first entry to the last, and against the anchors "
        "beat appended to REELVAULT_AUDIT_ANCHOR_PATH (and any given with --anchor)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="COUNT:HASH",
            help="An anchor as a daily report prints it (repeatable).",
        )
        parser.add_argument(
            "--anchor-file",
            type=Path,
            default=None,
            help="Anchor file to read (default: REELVAULT_AUDIT_ANCHOR_PATH).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path | None = options["anchor_file"] or settings.REELVAULT_AUDIT_ANCHOR_PATH
        anchors: list[AuditAnchor] = []
        try:
            if path is not None and path.exists():
                anchors += audit_anchors_read(path=path)
            elif options["anchor_file"] is not None:
                raise CommandError(f"anchor file {path} does not exist")
            anchors += [audit_anchor_parse(text) for text in options["anchor"]]
        except AnchorFileError as exc:
            raise CommandError(str(exc)) from exc
        result = audit_chain_verify(anchors=anchors)
        against = (
            f", against {result.anchors_checked} anchor(s)" if anchors else ", no anchors to check against"
        )
        if not result.breaks:
            self.stdout.write(
                self.style.SUCCESS(f"audit log intact: {result.checked} entries verified{against}")
            )
            return
        self.stderr.write(
            f"audit log BROKEN: {len(result.breaks)} break(s) in {result.checked} entries{against}"
        )
        for broken in result.breaks:
            where = f"entry #{broken.event_id}" if broken.event_id is not None else "anchor"
            self.stderr.write(f"  BROKEN at {where}: {broken.reason}")
        self.stderr.write("Investigate who had superuser or owner access to the database.")
        raise SystemExit(1)
