"""A small program served by ``core.cmdserver``, for its tests (no Django).

    python tests/core/cmdserver_app.py serve SOCKET STALE_MARKER
    python tests/core/cmdserver_app.py call SOCKET ARG...

``serve`` runs a server whose commands are ``show`` (prints its working
folder, arguments and $PROBE), ``traits`` (umask, niceness, open-file
limit), ``echo-stdin``, ``exit N``, ``crash``, ``sleep SECONDS`` (prints
its pid first), ``sleep-through-hangups SECONDS`` (the same, ignoring SIGHUP)
and ``refuse`` (turned down). The
code counts as changed while STALE_MARKER exists; the server then restarts
itself, and the new one removes the marker. ``call`` offers ARG... to the
server and exits with the command's status, or prints COLD and exits 99
when the server did not take it.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import cmdserver


def run(request: cmdserver.Request) -> None:
    command, *rest = request.argv[1:]
    if command == "show":
        print(f"cwd={os.getcwd()} argv={request.argv[1:]} probe={os.environ.get('PROBE')}")
    elif command == "traits":
        mask = os.umask(0)
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        print(f"umask={mask:o} nice={os.getpriority(os.PRIO_PROCESS, 0)} nofile={nofile}")
    elif command == "echo-stdin":
        print(f"read: {sys.stdin.readline().strip()}")
    elif command == "exit":
        raise SystemExit(int(rest[0]))
    elif command == "crash":
        raise RuntimeError("the command failed")
    elif command == "sleep-through-hangups":
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        print(os.getpid(), flush=True)
        time.sleep(float(rest[0]))
    elif command == "sleep":
        print(os.getpid(), flush=True)
        time.sleep(float(rest[0]))
        print("slept", flush=True)
    raise SystemExit(0)


def accept(request: cmdserver.Request) -> None:
    if request.argv[1:2] == ["refuse"]:
        raise cmdserver.Refused("not this one")


def serve(socket_path: str, marker: str) -> None:
    Path(marker).unlink(missing_ok=True)  # a new server runs the new code

    def restart() -> NoReturn:
        os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606

    def log(message: str) -> None:
        print(message, flush=True)

    cmdserver.Server(
        path=Path(socket_path),
        accept=accept,
        run=run,
        stale=lambda: Path(marker).exists(),
        restart=restart,
        log=log,
    ).serve()


def call(socket_path: str, argv: list[str]) -> NoReturn:
    request = cmdserver.Request(
        argv=["app", *argv], cwd=os.getcwd(), env=dict(os.environ), root="/", traits=cmdserver.traits()
    )
    status = cmdserver.offer(Path(socket_path), request)
    if status is None:
        print("COLD", flush=True)
        os._exit(99)
    os._exit(status)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        call(sys.argv[2], sys.argv[3:])
