"""How ``manage.py`` ends: fast, but with everything a normal exit does that anyone could notice.

``reelvault.cli.end_process`` skips only the interpreter's teardown. These run
it in a fresh interpreter, as ``manage.py`` does, and look at what the process
left behind: its exit status, its buffered output, its exit handlers, a thread
still writing.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.reelvault.processes import python


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return python("-c", textwrap.dedent(code))


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("None", 0, ""),
        ("0", 0, ""),
        ("3", 3, ""),
        ("'stopped: the card is gone'", 1, "stopped: the card is gone"),
    ],
)
def test_the_status_is_the_one_sys_exit_would_give(code: str, status: int, stderr: str) -> None:
    result = run_python(f"from reelvault.cli import end_process\nend_process({code})")

    assert result.returncode == status
    assert result.stderr.strip() == stderr


def test_buffered_output_exit_handlers_and_logging_are_not_lost(tmp_path: Path) -> None:
    log = tmp_path / "command.log"
    result = run_python(
        f"""
        import atexit, logging, sys
        handler = logging.FileHandler({str(log)!r}, delay=False)
        logging.getLogger("reelvault.test").addHandler(handler)
        logging.getLogger("reelvault.test").warning("last words of the command")
        atexit.register(lambda: print("exit handler ran"))
        sys.stdout.write("x" * 200_000)  # more than any buffer: the tail must arrive too
        sys.stdout.write("END")
        from reelvault.cli import end_process
        end_process(0)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("x" * 200_000)
    assert result.stdout.endswith("ENDexit handler ran\n")
    assert log.read_text() == "last words of the command\n"


def test_a_thread_still_working_is_waited_for() -> None:
    result = run_python(
        """
        import threading, time
        def finish():
            time.sleep(0.3)
            print("the thread finished its write", flush=True)
        threading.Thread(target=finish).start()
        from reelvault.cli import end_process
        end_process(0)
        """
    )

    assert result.returncode == 0, result.stderr
    assert "the thread finished its write" in result.stdout


def test_a_command_through_manage_py_keeps_its_status_and_message(tmp_path: Path) -> None:
    result = python("manage.py", "mhl_verify", str(tmp_path))

    assert result.returncode == 1
    assert f"{tmp_path} has no ASC MHL history" in result.stderr
