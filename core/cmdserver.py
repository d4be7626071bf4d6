"""A warm start for command-line programs: run a command in a fork of a process that is already set up.

Setting Django up takes most of a short command's time (0.3-0.5 s here,
longer than re-hashing a 2,000-file card). A command server does that set-up
once and waits on a unix socket; a client (``offer``) hands it the caller's
arguments, working directory, environment and its stdin/stdout/stderr (the
descriptors themselves, over the socket), and the server forks: the fork
becomes the command, writing straight to the caller's terminal, in a process
group and session of its own. The client forwards the signals a terminal sends (Ctrl-C,
hang-up, TERM, QUIT) to that group and exits with the command's status.

What keeps it honest:

- The server only serves its own OS user (the socket is 0600 in a 0700
  folder, and every caller's uid is checked with ``SO_PEERCRED``).
- ``accept`` (the server's policy) may refuse any request with a reason:
  then ``offer`` returns None and the caller starts the usual way. The
  server only ever makes a command start sooner, never run differently.
- Code newer than the server (``code_stamp``) is refused too; the server
  then stops taking requests, waits for the commands it started, and
  re-executes itself with the new code.
- The fork closes everything of the server's (listening socket, other
  callers' connections) before it runs the command; the server forks only
  while it runs a single thread.
- A caller that disappears (killed, terminal closed) makes the server send
  its command's process group a hang-up, as a closing terminal would. A
  server that disappears leaves its commands running: the caller waits for
  its command to end and says that its status is unknown.

Nothing here knows about Django; ``reelvault.commandserver`` sets the policy.
"""

from __future__ import annotations

import array
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

# Signals a terminal or a supervisor sends to the foreground command; the client passes them on.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_HEADER = struct.Struct("!I")
_MAX_REQUEST = 4 * 1024 * 1024


# Limits a process inherits from whoever started it; the fork takes the caller's.
RLIMITS = (
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_NOFILE",
    "RLIMIT_AS",
)


@dataclass(frozen=True)
class Request:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    root: str
    traits: dict[str, Any] = field(default_factory=dict)


def traits() -> dict[str, Any]:
    """What this process has that a fork of the server might not: umask, niceness, limits, cgroup, Python."""
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        cgroup = Path("/proc/self/cgroup").read_text()
    except OSError:
        cgroup = ""
    return {
        "umask": mask,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "rlimits": {name: list(resource.getrlimit(getattr(resource, name))) for name in RLIMITS},
        "cgroup": cgroup,
        "python": [sys.prefix, sys.version],
        # How text meets file names and the terminal (the locale the process started with).
        "encodings": [sys.getfilesystemencoding(), getattr(sys.stdout, "encoding", None)],
    }


def _check_traits(theirs: dict[str, Any]) -> None:
    """Refuse a caller whose limits the fork could not take on (``_take_traits`` applies the rest)."""
    mine = traits()
    if set(theirs) != set(mine):
        raise Refused("the caller did not say its umask, niceness, limits and control group")
    if theirs["python"] != mine["python"]:
        raise Refused(f"the caller runs another Python ({theirs['python'][0]})")
    if theirs["encodings"] != mine["encodings"]:
        raise Refused(f"the caller's text encodings differ ({theirs['encodings']})")
    if theirs["cgroup"] != mine["cgroup"]:
        raise Refused("the caller runs in another control group (its memory and I/O limits would not apply)")
    privileged = os.geteuid() == 0
    if theirs["nice"] < mine["nice"] and not privileged:
        raise Refused("the caller runs at a higher priority than the server may give")
    for name, (_, hard) in theirs["rlimits"].items():
        if name not in RLIMITS:
            raise Refused(f"unknown limit {name}")
        mine_hard = mine["rlimits"][name][1]
        raises = mine_hard != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > mine_hard)
        if raises and not privileged:
            raise Refused(f"the caller's {name} is higher than the server's")


def _take_traits(theirs: dict[str, Any]) -> None:
    os.umask(theirs["umask"])
    os.setpriority(os.PRIO_PROCESS, 0, theirs["nice"])
    for name, (soft, hard) in theirs["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


class Refused(Exception):
    """The server will not run this request; the message says why."""


def code_stamp(root: Path, skip: Iterable[str] = ()) -> tuple[int, int]:
    """(newest mtime in ns, count) of the ``.py`` files under ``root``, outside the folders in ``skip``.

    Both change when a file is edited, added or removed (a checkout, an
    upgrade, an edit during development).
    """
    skipped = set(skip)
    newest, count = 0, 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in skipped and not entry.name.startswith("."):
                    stack.append(Path(entry.path))
            elif entry.name.endswith(".py"):
                try:
                    newest = max(newest, entry.stat(follow_symlinks=False).st_mtime_ns)
                except OSError:
                    continue
                count += 1
    return newest, count


# --- the client -------------------------------------------------------------


def offer(path: Path, request: Request, *, connect_timeout: float = 0.5) -> int | None:
    """Run ``request`` in the command server at ``path``; its exit status, or None if none took it.

    None means nothing ran and nothing will: no server answers at ``path``,
    the descriptors cannot be passed, or the server said no (code changed,
    different settings). The caller then runs the command itself. Once the
    request is sent, only the server's "no" leads back there: a server that
    vanishes before answering may have started the command, so that is an
    error the caller is told about, never a second run.
    """
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    # From before the request leaves: a Ctrl-C that comes before the command runs is not lost.
    forward = _Forwarder()
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        with conn:
            return _exchange(conn, path, request, connect_timeout, forward)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for held in forward.held:  # came before any command started: the caller's own to act on
            signal.raise_signal(held)


def _exchange(
    conn: socket.socket, path: Path, request: Request, connect_timeout: float, forward: _Forwarder
) -> int | None:
    try:
        conn.settimeout(connect_timeout)
        conn.connect(str(path))
        payload = json.dumps(request.__dict__).encode()
        fds = array.array("i", [0, 1, 2])
        conn.sendmsg([_HEADER.pack(len(payload)), payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    except (OSError, ValueError):  # no server, a socket file left behind, closed descriptors
        return None
    conn.settimeout(None)
    reader = conn.makefile("rb")
    answer = _line(reader)
    if answer and answer[0] == "no":
        return None
    if len(answer) != 2 or answer[0] != "run" or not answer[1].isdigit():
        _say(
            f"the command server at {path} went away before saying whether it started "
            "the command: check whether it ran before running it again"
        )
        return 1
    pid = int(answer[1])
    forward.to(pid)
    while True:
        line = _line(reader)
        if len(line) == 2 and line[0] == "exit" and line[1].isdigit():
            return int(line[1])
        if not line:
            return _orphaned(pid)


class _Forwarder:
    """Passes the caller's signals on to its command's process group; holds those that come before it runs."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.held: list[int] = []

    def to(self, pid: int) -> None:
        self.pid = pid
        held, self.held = self.held, []
        for signum in held:
            self(signum, None)

    def __call__(self, signum: int, frame: object) -> None:
        if self.pid is None:
            self.held.append(signum)
            return
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass


def _line(reader: BinaryIO) -> list[str]:
    try:
        return reader.readline(4096).decode(errors="replace").split()
    except OSError:
        return []


def _orphaned(pid: int) -> int:
    """The server went away while the command ran: wait for the command, then say what is known."""
    _say(f"the command server stopped while the command ran (process {pid}); waiting for it to end")
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    _say("the command ended; its exit status is unknown: read its output above before relying on it")
    return 1


def _say(message: str) -> None:
    sys.stderr.write(f"reelvault: {message}\n")
    sys.stderr.flush()


# --- the server -------------------------------------------------------------


@dataclass
class _Running:
    pid: int
    conn: socket.socket
    pidfd: int
    caller_gone: bool = False


@dataclass
class Server:
    """Serve requests at ``path`` until stopped.

    ``accept(request)`` raises ``Refused`` to turn a request down; ``run(request)``
    is called in the fork, with the caller's descriptors, directory, environment
    and arguments in place, and must end the process itself (a return or an
    exception ends it with status 1). ``stale()`` says the code changed: the
    server then drains and calls ``restart()``.
    """

    path: Path
    accept: Callable[[Request], None]
    run: Callable[[Request], object]
    stale: Callable[[], bool]
    restart: Callable[[], NoReturn]
    log: Callable[[str], None] = print
    _running: dict[int, _Running] = field(default_factory=dict)
    _stopping: bool = False
    _stale: bool = False

    def serve(self) -> None:
        if not (hasattr(os, "pidfd_open") and hasattr(socket, "SO_PEERCRED")):
            raise Refused("this system has no pidfd_open or SO_PEERCRED (Linux 5.3 or later is needed)")
        listener = self._listen()
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, "listener")
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        selector.register(wake_read, selectors.EVENT_READ, "wake")
        old_wakeup = signal.set_wakeup_fd(wake_write)
        previous = {signum: signal.signal(signum, self._stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        draining = False
        try:
            self.log(f"command server ready at {self.path}")
            while not self._stopping and not (draining and not self._running):
                for key, _ in selector.select():
                    if key.data == "listener":
                        self._take(listener, selector)
                        if self._stale and not draining:
                            self.log("code changed: no new commands; restarting when those running end")
                            selector.unregister(listener)
                            self._close_listener(listener)
                            draining = True
                    elif key.data == "wake":
                        os.read(wake_read, 512)
                    elif isinstance(key.data, tuple) and key.data[0] == "pidfd":
                        self._reap(key.data[1], selector)
                    elif isinstance(key.data, tuple) and key.data[0] == "caller":
                        self._caller_readable(key.data[1], selector)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if not draining:
                self._close_listener(listener)
            selector.close()
            os.close(wake_read)
            os.close(wake_write)
        if draining and not self._stopping:
            self.restart()

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _listen(self) -> socket.socket:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.parent.chmod(0o700)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with probe:
            if probe.connect_ex(str(self.path)) == 0:
                raise Refused(f"a command server already answers at {self.path}")
        self.path.unlink(missing_ok=True)  # a socket file left by a server that was killed
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o077)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old_umask)
        listener.listen(64)
        return listener

    def _close_listener(self, listener: socket.socket) -> None:
        listener.close()
        self.path.unlink(missing_ok=True)

    def _take(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(2.0)  # a caller of our own uid that sends nothing must not hold the server
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                raise Refused(f"caller runs as uid {uid}; this server serves uid {os.getuid()} only")
            request, fds = _receive(conn)
            if len(fds) != 3:
                raise Refused("the caller did not pass stdin, stdout and stderr")
            _check_traits(request.traits)
            if self.stale():
                self._stale = True
                raise Refused("the code changed since the command server started")
            self.accept(request)
            if threading.active_count() != 1:
                raise Refused("the server is running threads; forking now would be unsafe")
            pid = self._fork(conn, fds, request, listener)
        except Refused as exc:
            self.log(f"not taken ({exc}): the caller starts it the usual way")
            _answer(conn, f"no {exc}")
            conn.close()
            return
        except (OSError, ValueError) as exc:
            self.log(f"a caller's request could not be read: {exc}")
            conn.close()
            return
        except Exception as exc:  # a policy that failed: say no, and keep serving the others
            self.log(f"a request could not be checked: {exc!r}")
            _answer(conn, f"no the server could not check the request ({type(exc).__name__})")
            conn.close()
            return
        finally:
            for fd in fds:  # the fork has its own copies
                os.close(fd)
        pidfd = os.pidfd_open(pid)
        self._running[pid] = _Running(pid=pid, conn=conn, pidfd=pidfd)
        selector.register(pidfd, selectors.EVENT_READ, ("pidfd", pid))
        selector.register(conn, selectors.EVENT_READ, ("caller", pid))
        conn.settimeout(None)
        _answer(conn, f"run {pid}")
        self.log(f"{_describe(request)}: started (process {pid})")

    def _fork(self, conn: socket.socket, fds: list[int], request: Request, listener: socket.socket) -> int:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid:
            return pid
        try:  # the command: nothing of the server may survive in it
            # A session of its own: no terminal of the server's (a password prompt opening /dev/tty
            # must never reach the terminal the server was started from), its own process group.
            os.setsid()
            signal.set_wakeup_fd(-1)
            # As in a fresh interpreter: Ctrl-C raises KeyboardInterrupt, the rest take their default.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            listener.close()
            for running in self._running.values():
                running.conn.close()
                os.close(running.pidfd)
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            for stream in (sys.stdout, sys.stderr):
                if os.isatty(stream.fileno()) and hasattr(stream, "reconfigure"):
                    stream.reconfigure(line_buffering=True)
            _take_traits(request.traits)
            os.chdir(request.cwd)
            os.environ.clear()
            os.environ.update(request.env)
            sys.argv = list(request.argv)
            self.run(request)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            _flush_and_exit(code)
        except KeyboardInterrupt:
            # As Python itself ends on an unhandled Ctrl-C: killed by SIGINT (a shell shows 130).
            _flush_and_exit_by(signal.SIGINT)
        except BaseException:
            traceback.print_exc()
        _flush_and_exit(1)

    def _reap(self, pid: int, selector: selectors.BaseSelector) -> None:
        running = self._running.pop(pid)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:  # killed by a signal: report it the way a shell does
            code = 128 - code
        selector.unregister(running.pidfd)
        os.close(running.pidfd)
        if not running.caller_gone:  # a gone caller's connection was unregistered then
            selector.unregister(running.conn)
            _answer(running.conn, f"exit {code}")
        running.conn.close()
        gone = " (its caller had gone)" if running.caller_gone else ""
        self.log(f"process {pid}: ended, exit {code}{gone}")

    def _caller_readable(self, pid: int, selector: selectors.BaseSelector) -> None:
        running = self._running.get(pid)
        if running is None or running.caller_gone:  # reaped, or already hung up, in this same round
            return
        try:
            data = running.conn.recv(64)
        except OSError:
            data = b""
        if data:  # a caller says nothing after its request: ignored
            return
        # The caller is gone: hang up on its command, as its terminal would. Its connection stays
        # at end-of-file, so it leaves the selector (which would report it again at once, forever).
        running.caller_gone = True
        selector.unregister(running.conn)
        try:
            os.killpg(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass


def _describe(request: Request) -> str:
    return request.argv[1] if len(request.argv) > 1 else "(no command)"


def _receive(conn: socket.socket) -> tuple[Request, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(_HEADER.size + 65536, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, blob in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(blob[: len(blob) - (len(blob) % fds.itemsize)])
    received = list(fds)
    try:
        if len(data) < _HEADER.size:
            raise ValueError("short request")
        (length,) = _HEADER.unpack_from(data)
        if length > _MAX_REQUEST:
            raise ValueError(f"request of {length} bytes")
        body = bytearray(data[_HEADER.size :])
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                raise ValueError("request cut short")
            body += chunk
        fields = json.loads(bytes(body))
        request = Request(
            argv=[str(arg) for arg in fields["argv"]],
            cwd=str(fields["cwd"]),
            env={str(k): str(v) for k, v in fields["env"].items()},
            root=str(fields["root"]),
            traits=dict(fields.get("traits") or {}),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        for fd in received:
            os.close(fd)
        raise ValueError("malformed request") from None
    return request, received


def _answer(conn: socket.socket, line: str) -> None:
    try:
        conn.sendall(f"{line}\n".encode())
    except OSError:
        pass  # the caller left; its command (if any) gets a hang-up


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _flush_and_exit(code: int) -> NoReturn:
    _flush()
    os._exit(code)


def _flush_and_exit_by(signum: int) -> NoReturn:
    _flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached: the signal ends the process
