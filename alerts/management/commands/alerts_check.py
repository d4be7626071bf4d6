"""Run the periodic alert work now: escalation, policy gaps, volume space, the outbox (what beat runs)."""

from __future__ import annotations

from typing import Any

from alerts import checks, outbox, services
from core.commands import ReelvaultCommand


class Command(ReelvaultCommand):
    help = "Escalate unacknowledged alerts, check policy gaps and volume space, send the pending outbox."

    def handle(self, *args: Any, **options: Any) -> None:
        escalated = services.alerts_escalate()
        gaps = checks.policy_gaps_check()
        full = checks.volumes_check()
        sent = outbox.deliveries_send_pending()
        self.stdout.write(
            f"escalated {len(escalated)} alert(s); {len(gaps)} policy gap alert(s) raised; "
            f"{full} volume(s) near full; {sent} pending message(s) sent"
        )
