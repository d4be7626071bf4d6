"""Shared base for Reelvault's management commands.

Every command runs with its audit source set to this host and OS user, and
turns the known failures (CommandError, a file problem) into one line.
"""

from __future__ import annotations

import getpass
import socket
import threading
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand

from core.auditsource import audit_source


class ReelvaultCommand(BaseCommand):
    # Django runs every system check before a command by default, which imports
    # the URL configuration and with it every view and the API router (about
    # 0.6 s here), on every offload and verify a DIT types. Those checks are
    # about the web side and do not change from one command to the next;
    # `manage.py check`, `migrate` and `runserver` still run the full set.
    requires_system_checks: list[str] = []
    # Modules the command imports late (in a thread, or on first use) to start sooner; a command
    # server (reelvault.commandserver) imports them once, up front, so that its forks have them.
    warm_modules: tuple[str, ...] = ()

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        with audit_source(f"cli:{user}@{socket.gethostname()}"):
            return super().execute(*args, **options)


def modules_preload(names: Sequence[str], then: Callable[[], None] | None = None) -> threading.Thread:
    """Import ``names`` in a background thread, then call ``then``; returns the (daemon) thread.

    For a command that spends its first seconds waiting on a device: what it
    needs only at the end (the Celery app and broker client that enqueue the
    follow-up jobs: a second or more to import from a cold disk cache) loads
    while the device works instead of after. A module that fails to import
    here is simply imported again, with its error, where it is used; a
    failing ``then`` (say, a warm-up of a connection) is ignored the same way.
    """

    def load() -> None:
        for name in names:
            try:
                import_module(name)
            except Exception:  # noqa: S112 - the real import will raise it where it matters
                continue
        if then is not None:
            try:
                then()
            except Exception:  # noqa: S110 - a warm-up only: the real use raises where it matters
                pass

    thread = threading.Thread(target=load, name="modules-preload", daemon=True)
    thread.start()
    return thread
