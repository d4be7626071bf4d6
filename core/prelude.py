"""Work a command starts before Django is set up, picked up by the command once it runs.

Setting Django up (settings, every app's models, the database driver) takes
0.3-0.5 s of a command's start. A command whose first step is pure I/O that
needs no database (re-hashing a folder against its ASC MHL history, say)
registers that step in ``reelvault.preludes``; ``manage.py`` starts it first
thing in a child process (a thread would fight the imports for the GIL: it
measured slower than no head start at all), and the command, once Django is
up, takes the child's result with ``take`` instead of doing the work itself.

The step only reads. A command that fails first, or was asked something
else, never takes it; a child that died without an answer (killed, out of
memory) makes ``take`` do the work in the command itself; a command that is
killed takes its child with it (nothing keeps reading a card for nobody).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_started: dict[str, tuple[Hashable, threading.Thread, list[bytes]]] = {}
_lock = threading.Lock()


def start(name: str, key: Hashable, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` in a forked child, for the command ``name`` asking for ``key``.

    Call it before the process starts threads of its own (``manage.py`` does,
    before importing Django). The child sends back ``fn``'s result or the
    exception it raised, pickled.
    """
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: do the work, send the outcome, never return into the parent's code
        status = 1
        try:
            os.close(read_fd)
            _die_with(parent)
            try:
                outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
            except Exception as exc:
                outcome = (False, exc)
            with os.fdopen(write_fd, "wb") as out:
                out.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    received: list[bytes] = []

    def collect() -> None:
        with os.fdopen(read_fd, "rb") as stream:
            received.append(stream.read())
        os.waitpid(pid, 0)

    thread = threading.Thread(target=collect, name=f"prelude-{name}", daemon=True)
    thread.start()
    with _lock:
        _started[name] = (key, thread, received)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """In the child: be killed when the command's process ends, however it ends (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child ends when its work does
        pass
    if os.getppid() != parent:  # the command died before the line above: nobody will read the answer
        os._exit(1)


def take(name: str, key: Hashable, otherwise: Callable[[], T]) -> T:
    """The result of the work started for ``name`` and ``key`` (or its exception), else ``otherwise()``."""
    with _lock:
        started = _started.pop(name, None)
    if started is None or started[0] != key:
        return otherwise()
    _, thread, received = started
    thread.join()
    try:
        succeeded, value = pickle.loads(received[0])  # noqa: S301 - our own child wrote it, through a pipe
    except Exception:  # the child died before it answered: do the work here
        return otherwise()
    if not succeeded:
        raise value
    return value  # type: ignore[no-any-return]
