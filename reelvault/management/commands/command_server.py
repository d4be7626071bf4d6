"""python manage.py command_server: keep Django set up so commands typed on this machine start at once.

``make run`` starts it (the Procfile's ``commands``); see ``reelvault.commandserver``.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import CommandError

from core import cmdserver
from core.commands import ReelvaultCommand
from reelvault import commandserver


class Command(ReelvaultCommand):
    help = (
        "Serve this machine's manage.py commands from a process with Django already set up "
        f"(socket: REELVAULT_COMMAND_SOCKET, default {commandserver.socket_path()}); Ctrl-C stops it."
    )

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--keep-going",
            action="store_true",
            help="if it cannot serve, say why and wait until stopped instead of exiting "
            "(make run: the rest of the stack stays up; commands start the usual way)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            commandserver.serve(log=self.say)
        except (cmdserver.Refused, OSError) as exc:
            detail = str(exc) if isinstance(exc, cmdserver.Refused) else (exc.strerror or str(exc))
            message = (
                f"cannot serve commands at {commandserver.socket_path()} ({detail}): commands start the "
                "usual way. Stop the other server, or set REELVAULT_COMMAND_SOCKET to a short path in a "
                "folder you own"
            )
            if not options["keep_going"]:
                raise CommandError(message) from exc
            self.stderr.write(message)
            signal.pause()  # until make run stops us (SIGTERM/SIGINT end the process)
