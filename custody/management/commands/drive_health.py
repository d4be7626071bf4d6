"""Read SMART for the drives of this host's mounted volumes now (what beat does every hour)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.commands import ReelvaultCommand
from custody import services
from custody.models import SmartReading


class Command(ReelvaultCommand):
    help = "Run smartctl on the drives of every volume mounted on this host; store readings; set health."

    def handle(self, *args: Any, **options: Any) -> None:
        host = settings.REELVAULT_HOSTNAME
        volumes = services.drive_health_check(host=host)
        if not volumes:
            self.stdout.write(f"no drive-backed volume of host {host} is mounted")
        for volume in volumes:
            for reading in SmartReading.objects.filter(volume=volume).order_by("-taken_at", "-pk")[:8]:
                why = reading.error or "; ".join(reading.reasons) or "no problem found"
                device = reading.device or "no device"
                self.stdout.write(f"{volume.label}: {volume.health} ({device}: {reading.verdict}, {why})")
                break
        if any(v.health == "failing" for v in volumes):
            self.stdout.write(self.style.ERROR("a drive is failing: see the alerts"))
