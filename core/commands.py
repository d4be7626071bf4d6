"""Shared base for Reelvault's management commands.

Every command runs with its audit source set to this host and OS user, and
turns the known failures (CommandError, a file problem) into one line.
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

from django.core.management.base import BaseCommand

from core.auditsource import audit_source


class ReelvaultCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        with audit_source(f"cli:{user}@{socket.gethostname()}"):
            return super().execute(*args, **options)
