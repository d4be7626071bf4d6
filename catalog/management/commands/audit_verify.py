"""Walk the audit log's hash chain; print the first broken link and exit 1 if any."""

from __future__ import annotations

from typing import Any

from catalog.audit import audit_chain_verify
from core.commands import ReelvaultCommand


class Command(ReelvaultCommand):
    help = "Verify the audit log's hash chain from the first entry to the last."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = audit_chain_verify()
        if broken is None:
            self.stdout.write(self.style.SUCCESS(f"audit log intact: {checked} entries verified"))
            return
        self.stderr.write(
            f"audit log BROKEN at entry #{broken.event_id}: {broken.reason}. "
            f"{checked} entries before it verified. Investigate who had superuser access to the database."
        )
        raise SystemExit(1)
