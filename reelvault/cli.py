"""Entry point shared by manage.py: known failures print one line, not a traceback.

A command ends with ``end_process``: its output flushed, its database
connections closed and the interpreter's exit handlers run, then the process
exits without tearing the interpreter down, which after a Django command
(a thousand modules, their objects freed one by one) took 0.1-0.3 s of CPU
here: part of every offload and verify a DIT waits for.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.db.utils import OperationalError


def fail(message: str, code: int = 2) -> None:
    print(f"reelvault: error: {message}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)


def exit_status(code: object) -> int:
    """The status the interpreter would give ``SystemExit(code)`` (printing a message code, as it does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # noqa: T201
    return 1


def end_process(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, minus the interpreter's teardown.

    Everything a normal exit does that anyone could notice still happens:
    open database connections are closed (PostgreSQL sees a clean goodbye),
    the ``atexit`` handlers run (logging flushes and closes its handlers),
    stdout and stderr are flushed. Only freeing every object is skipped: the
    kernel takes the memory back at once. While a non-daemon thread is still
    running the process exits normally, which waits for it.
    """
    status = exit_status(code)
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        raise SystemExit(status)
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: S110 - settings or a connection broken: the kernel closes the socket anyway
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said there
            pass
    os._exit(status)


def run_django_command(argv: Sequence[str]) -> NoReturn:
    from django.core.management import execute_from_command_line

    from reelvault import embedded

    try:
        # Commands run by hand find the embedded services started if no URL is
        # configured, exactly like `make run` does.
        if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
            os.environ.update(embedded.ensure_services())
        execute_from_command_line(list(argv))
    except embedded.EmbeddedServiceError as exc:
        fail(str(exc))
    except ImproperlyConfigured as exc:
        fail(f"configuration: {exc}")
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        fail(f"the database is not reachable ({first_line}): start PostgreSQL or fix DATABASE_URL")
    except SystemExit as exc:
        end_process(exc.code)
    end_process(0)
