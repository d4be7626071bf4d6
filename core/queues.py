"""Queue names, declared once.

Jobs that read or write a local volume must run on the host where that volume
is mounted: they go to ``host.<hostname>``, chosen by the service when it
enqueues the job. Everything else goes to ``default``.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings


class Queue(StrEnum):
    DEFAULT = "default"


def host_queue(hostname: str | None = None) -> str:
    """The queue consumed only by workers on ``hostname`` (this host by default)."""
    return f"host.{hostname or settings.REELVAULT_HOSTNAME}"
