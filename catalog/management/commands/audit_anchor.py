"""Append the audit chain's head to REELVAULT_AUDIT_ANCHOR_PATH now (beat does it on a schedule)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from catalog.audit import audit_anchor_append
from core.commands import ReelvaultCommand


class Command(ReelvaultCommand):
    help = "Append the audit chain's head (entry count and last hash) to REELVAULT_AUDIT_ANCHOR_PATH."

    def handle(self, *args: Any, **options: Any) -> None:
        path = settings.REELVAULT_AUDIT_ANCHOR_PATH
        if path is None:
            raise CommandError("REELVAULT_AUDIT_ANCHOR_PATH is 'none': set it to a file on another volume")
        anchor = audit_anchor_append(path=path)
        self.stdout.write(f"anchored {anchor} in {path}")
