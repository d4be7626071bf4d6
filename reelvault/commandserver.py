"""Commands start warm: ``manage.py`` hands its command to the command server when one runs.

``make run`` starts ``manage.py command_server`` beside web, worker and beat
(the Procfile's ``commands``). It sets Django up once and forks a ready
process for each command a user types on this machine (``core.cmdserver``),
so ``manage.py offload`` or ``mhl_verify`` starts in milliseconds instead of
spending 0.3-0.5 s on Django's set-up first.

The command runs exactly as it would on its own, or it is not taken:

- same OS user and same project folder;
- the same settings: the server reads the settings module again with the
  caller's environment and compares every setting with its own (a different
  ``DATABASE_URL``, time zone or mail server makes it say no);
- the same code: a ``.py`` file newer than the server makes it say no, finish
  what it runs and restart itself;
- not the commands that are a server or a shell of their own (``SKIP``).

On "no", or with no server running, ``manage.py`` starts the usual way.
``REELVAULT_COMMAND_SERVER=off`` makes it never ask.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from core import cmdserver
from reelvault import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
# Always started the usual way: servers and shells of their own, and the commands that prompt for a
# password (the prompt needs the caller's terminal as its controlling terminal, which a fork cannot have).
SKIP = frozenset(
    {
        "command_server",
        "runserver",
        "testserver",
        "shell",
        "dbshell",
        "test",
        "createsuperuser",
        "changepassword",
    }
)
# Folders whose Python files are not the server's code.
NOT_CODE = ("var", "node_modules", "tests", "bench", "static", "templates", "__pycache__")
DEFAULT_SETTINGS = "reelvault.settings"


def socket_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("REELVAULT_COMMAND_SOCKET")
    return Path(configured) if configured else embedded.var_dir() / "run" / "commands.sock"


def offer_command(argv: Sequence[str]) -> int | None:
    """Called by ``manage.py`` before Django is imported: the command's exit status, or None (run it here)."""
    if len(argv) < 2 or argv[1].startswith("-") or argv[1] in SKIP:
        return None
    if os.environ.get("REELVAULT_COMMAND_SERVER", "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    try:
        cwd = str(Path.cwd())
    except OSError:  # the working folder was removed: let the usual start say so
        return None
    request = cmdserver.Request(
        argv=list(argv), cwd=cwd, env=dict(os.environ), root=str(BASE_DIR), traits=cmdserver.traits()
    )
    return cmdserver.offer(socket_path(), request)


def settings_for(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting the settings module gives under ``env``, read afresh (the live ones stay as they are).

    The module reads the environment through ``core.env`` and ``embedded``,
    both at call time, so ``os.environ`` is swapped for ``env`` while it runs
    (a plain dict: nothing reaches the process's real environment). The
    server runs one thread, so nothing else sees the swap.
    """
    name = env.get("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise cmdserver.Refused(f"settings module {name} not found")
    module = importlib.util.module_from_spec(spec)
    real = os.environ
    os.environ = dict(env)  # type: ignore[assignment]  # noqa: B003 - a read-only stand-in, put back below
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise cmdserver.Refused(f"the settings do not load with the caller's environment ({exc})") from exc
    finally:
        os.environ = real  # noqa: B003
    return {"module": name} | {key: getattr(module, key) for key in dir(module) if key.isupper()}


def code_and_packages_stamp() -> tuple[object, ...]:
    """Changes when a project ``.py`` file does, or a package is installed, upgraded or removed.

    pip adds and removes a package's folders in site-packages, which changes
    that folder's modification time.
    """
    folders = [Path(folder) for folder in site.getsitepackages()]
    return (
        cmdserver.code_stamp(BASE_DIR, NOT_CODE),
        *(folder.stat().st_mtime_ns for folder in folders if folder.is_dir()),
    )


class Policy:
    """What the server takes: same project, a command it runs, the same settings."""

    def __init__(self) -> None:
        self.settings = settings_for(os.environ)
        self.stamp = code_and_packages_stamp()

    def accept(self, request: cmdserver.Request) -> None:
        from django.db import connections

        if any(connection.connection is not None for connection in connections.all(initialized_only=True)):
            # A fork would share the socket with the server and every other fork.
            raise cmdserver.Refused("the server holds a database connection")
        if Path(request.root).resolve() != BASE_DIR:
            raise cmdserver.Refused(f"this server runs {BASE_DIR}, not {request.root}")
        if len(request.argv) < 2 or request.argv[1] in SKIP:
            raise cmdserver.Refused("this command is started the usual way")
        theirs = settings_for(request.env)
        if theirs != self.settings:
            keys = theirs.keys() | self.settings.keys()
            differ = sorted(key for key in keys if theirs.get(key) != self.settings.get(key))
            raise cmdserver.Refused(f"different settings: {', '.join(differ[:5])}")

    def stale(self) -> bool:
        return code_and_packages_stamp() != self.stamp


def environment_as_django_sets_it() -> None:
    """What setting Django up does to the environment, done again over the caller's environment.

    Django exports TIME_ZONE as TZ when it reads the settings (so that the
    process and every program it starts, ffprobe say, keep local time in
    the project's zone); the fork's environment is the caller's, read after that.
    """
    from django.conf import settings

    if settings.TIME_ZONE and hasattr(time, "tzset"):
        os.environ["TZ"] = settings.TIME_ZONE
        time.tzset()


def run_in_fork(request: cmdserver.Request) -> NoReturn:
    # No head start here (reelvault.preludes): Django is already up, so there is nothing to hide the
    # work behind; measured with and without it, mhl_verify took 0.20 s either way.
    from reelvault.cli import run_django_command

    environment_as_django_sets_it()
    run_django_command(request.argv)


def restart() -> NoReturn:
    """The code changed: become a new server (same process, so a supervisor sees nothing)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606 - this very program, again


def preload_commands() -> int:
    """Import every Reelvault command and what it uses, so no fork pays for that again; returns the count.

    Also the modules a command loads late on its own (``ReelvaultCommand.warm_modules``: Celery and
    the broker client for the offload), imported only: connections are made in each fork.
    """
    from django.core.management import get_commands, load_command_class

    loaded = 0
    for name, app in get_commands().items():
        if app.startswith("django.") or name in SKIP:
            continue
        command = load_command_class(app, name)
        for module in getattr(command, "warm_modules", ()):
            importlib.import_module(module)
        loaded += 1
    return loaded


def serve(log: Any) -> None:
    loaded = preload_commands()
    log(f"{loaded} commands loaded")
    policy = Policy()
    server = cmdserver.Server(
        path=socket_path(),
        accept=policy.accept,
        run=run_in_fork,
        stale=policy.stale,
        restart=restart,
        log=log,
    )
    server.serve()
