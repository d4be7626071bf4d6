"""The command server (core/cmdserver.py) through real processes: a server, callers, signals, kills.

The served program is tests/core/cmdserver_app.py (no Django), so these tests
check the mechanism itself; tests/reelvault/test_command_server.py checks
``manage.py`` commands through it.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

APP = Path(__file__).with_name("cmdserver_app.py")


@dataclass
class Served:
    process: subprocess.Popen[str]
    socket: Path
    marker: Path
    log: list[str] = field(default_factory=list)

    def wait_for(self, text: str, after: int = 0, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.log[after:]):
                return
            time.sleep(0.02)
        raise AssertionError(f"the server never said {text!r}; it said {self.log}")


@pytest.fixture
def served() -> Iterator[Served]:
    folder = Path(tempfile.mkdtemp(prefix="rvcs-", dir="/tmp"))  # unix socket paths are short
    socket = folder / "run" / "commands.sock"
    marker = folder / "stale"
    process = subprocess.Popen(
        [sys.executable, str(APP), "serve", str(socket), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Served(process, socket, marker)

    def collect() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.log.append(line.strip())

    threading.Thread(target=collect, daemon=True).start()
    server.wait_for("ready")
    yield server
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


def call(
    served: Served, *argv: str, cwd: Path | None = None, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), "call", str(served.socket), *argv],
        cwd=cwd,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def start(served: Served, *argv: str) -> tuple[subprocess.Popen[str], int]:
    """A caller of a long command, and the command's pid (its first line of output)."""
    caller = subprocess.Popen(
        [sys.executable, str(APP), "call", str(served.socket), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert caller.stdout is not None
    return caller, int(caller.stdout.readline())


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.02)
    return False


def test_the_command_runs_with_the_callers_folder_arguments_environment_and_output(
    served: Served, tmp_path: Path
) -> None:
    result = call(served, "show", "a b", "--x", cwd=tmp_path, PROBE="from the caller")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cwd={tmp_path} argv=['show', 'a b', '--x'] probe=from the caller\n"
    served.wait_for("show: started")


def test_the_command_reads_the_callers_stdin(served: Served) -> None:
    result = call(served, "echo-stdin", stdin="take 3\n")

    assert result.stdout == "read: take 3\n"


@pytest.mark.parametrize(("argv", "status"), [(["exit", "0"], 0), (["exit", "3"], 3), (["crash"], 1)])
def test_the_callers_exit_status_is_the_commands(served: Served, argv: list[str], status: int) -> None:
    result = call(served, *argv)

    assert result.returncode == status
    if argv == ["crash"]:
        assert "RuntimeError: the command failed" in result.stderr  # the traceback, on the caller's stderr


def test_a_refused_command_and_a_missing_server_leave_the_caller_to_run_it(served: Served) -> None:
    refused = call(served, "refuse")
    served.process.terminate()
    served.process.wait(timeout=10)
    no_server = call(served, "show")

    assert (refused.returncode, refused.stdout) == (99, "COLD\n")
    assert any("not taken (not this one)" in line for line in served.log)
    assert (no_server.returncode, no_server.stdout) == (99, "COLD\n")
    assert not served.socket.exists()  # the stopped server took its socket with it


def test_ctrl_c_reaches_the_command_which_ends_as_python_does(served: Served) -> None:
    caller, pid = start(served, "sleep", "30")

    caller.send_signal(signal.SIGINT)

    assert caller.wait(timeout=10) == 130  # KeyboardInterrupt unhandled: ended by SIGINT, as a shell shows it
    assert gone(pid)


def test_a_caller_killed_outright_takes_its_command_with_it(served: Served) -> None:
    caller, pid = start(served, "sleep", "30")

    caller.kill()  # no chance to forward anything: the server notices the closed connection
    caller.wait(timeout=10)

    assert gone(pid)  # hung up, as a closed terminal would
    served.wait_for("(its caller had gone)")


def test_a_server_killed_mid_command_leaves_the_command_running_and_the_caller_waiting(
    served: Served,
) -> None:
    caller, _ = start(served, "sleep", "1")

    served.process.kill()
    out, err = caller.communicate(timeout=20)

    assert caller.returncode == 1
    assert out == "slept\n"  # the command went on to its end
    assert "the command server stopped while the command ran" in err
    assert "its exit status is unknown" in err


def test_changed_code_is_refused_then_the_server_restarts_with_it(served: Served) -> None:
    served.marker.touch()
    before = len(served.log)

    stale = call(served, "show")
    served.wait_for("ready", after=before)  # the same process, executed again
    fresh = call(served, "show")

    assert stale.stdout == "COLD\n"
    assert any("code changed" in line for line in served.log[before:])
    assert not served.marker.exists()
    assert fresh.returncode == 0 and fresh.stdout.startswith("cwd=")
    assert served.process.poll() is None


def test_a_running_command_finishes_before_the_server_restarts(served: Served) -> None:
    caller, _ = start(served, "sleep", "1")
    served.marker.touch()
    before = len(served.log)

    turned_down = call(served, "show")  # code changed: the server waits for the sleeper, then restarts
    out, _ = caller.communicate(timeout=20)

    assert turned_down.stdout == "COLD\n"
    assert caller.returncode == 0 and out == "slept\n"
    served.wait_for("ready", after=before)


def test_garbage_on_the_socket_is_dropped_and_the_server_keeps_serving(served: Served) -> None:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as rogue:
        rogue.connect(str(served.socket))
        rogue.sendall(b"\x00\x00\x00\x05hello")
        assert rogue.recv(100) == b""  # no answer: closed

    assert call(served, "exit", "4").returncode == 4
    served.wait_for("could not be read")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to try as another user")
def test_another_user_cannot_reach_the_server(served: Served) -> None:
    import socket

    pid = os.fork()
    if pid == 0:  # a caller running as nobody
        code = 3
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(served.socket))
            code = 0
        except PermissionError:
            code = 13
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 13  # EACCES: the folder is its owner's alone
    for path in (served.socket.parent, served.socket):
        assert path.stat().st_mode & 0o077 == 0  # nothing for group or others


def test_the_command_takes_the_callers_umask_niceness_and_limits(served: Served) -> None:
    def as_a_careful_dit() -> None:
        os.umask(0o027)
        os.nice(5)
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    result = subprocess.run(
        [sys.executable, str(APP), "call", str(served.socket), "traits"],
        preexec_fn=as_a_careful_dit,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.stdout == f"umask=27 nice={os.getpriority(os.PRIO_PROCESS, 0) + 5} nofile=512\n"
    served.wait_for("traits: started")


CGROUP_MEMORY = Path("/sys/fs/cgroup/memory")


@pytest.mark.skipif(
    os.geteuid() != 0 or not CGROUP_MEMORY.is_dir(), reason="needs root and a cgroup v1 memory hierarchy"
)
def test_a_caller_in_another_memory_group_runs_its_command_itself(served: Served) -> None:
    group = CGROUP_MEMORY / f"rv-cmdserver-test-{os.getpid()}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(256 * 1024 * 1024))
        result = subprocess.run(
            [sys.executable, str(APP), "call", str(served.socket), "show"],
            preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        group.rmdir()

    assert result.stdout == "COLD\n"  # a fork of the server would escape the group's memory limit
    served.wait_for("another control group")


def test_a_caller_running_another_python_runs_its_command_itself(served: Served, tmp_path: Path) -> None:
    venv = tmp_path / "other-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)

    result = subprocess.run(
        [str(venv / "bin" / "python"), str(APP), "call", str(served.socket), "show"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.stdout == "COLD\n"  # its packages may differ: the server's would answer for them
    served.wait_for("another Python")


def test_a_caller_writing_its_terminal_in_another_encoding_runs_its_command_itself(served: Served) -> None:
    result = call(served, "show", PYTHONIOENCODING="latin-1")

    assert result.stdout == "COLD\n"  # the fork would write in the server's encoding
    served.wait_for("text encodings differ")


def test_a_command_that_outlives_its_callers_hang_up_does_not_keep_the_server_busy(served: Served) -> None:
    caller, pid = start(served, "sleep-through-hangups", "2")
    caller.kill()
    caller.wait(timeout=10)
    time.sleep(0.5)  # the server has seen the caller go and hung up; the command ignores it

    server_cpu = _cpu_seconds(served.process.pid)
    time.sleep(1)
    spent = _cpu_seconds(served.process.pid) - server_cpu

    assert spent < 0.5  # not spinning on the dead caller's connection (a busy loop spends ~1 s per s)
    assert call(served, "exit", "5").returncode == 5  # and still serving
    assert gone(pid)
    served.wait_for("(its caller had gone)")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
