"""A command's first step started before Django is set up (core/prelude.py, reelvault/preludes.py).

``manage.py mhl_verify PATH`` re-hashes the folder in a child process while
Django sets up; the command takes the child's report. What the DIT sees must
be exactly what the command alone would say: checked through ``manage.py``
on the real ASC MHL samples, a good folder and one with a flipped byte.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core import prelude
from tests.fixtures import child_env
from tests.reelvault.processes import python

SCENARIO = "mhl/ascmhl_v2/scenario_03_md5_added/A002R2EC"


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return python("manage.py", *args, env=child_env())


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [[], ["-v", "1"]], ids=["started-before-django", "verified-by-the-command"])
def test_mhl_verify_through_manage_py_says_the_same_with_or_without_the_head_start(
    samples: Path, tmp_path: Path, extra: list[str]
) -> None:
    # An option makes reelvault.preludes leave the work to the command: both ways must agree.
    card = tmp_path / "A002R2EC"
    shutil.copytree(samples / SCENARIO, card)

    good = manage("mhl_verify", *extra, str(card))

    assert good.returncode == 0, good.stderr
    assert f"{card}: OK (3 ok)" in good.stdout

    clip = card / "Clips" / "A002C006_141024_R2EC.mov"
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))

    bad = manage("mhl_verify", *extra, str(card))

    assert bad.returncode == 1
    assert "MISMATCH  Clips/A002C006_141024_R2EC.mov" in bad.stderr
    assert "FAILED (1 mismatch, 2 ok; 0 chain problems)" in bad.stderr


def _pid() -> int:
    return os.getpid()


def _refuse(path: str) -> None:
    raise FileNotFoundError(2, "No such file or directory", path)


def test_the_work_runs_in_a_child_and_its_result_is_taken_once() -> None:
    prelude.start("probe", "A001", _pid)

    child = prelude.take("probe", "A001", lambda: -1)

    assert child not in (os.getpid(), -1)
    assert prelude.take("probe", "A001", lambda: -1) == -1  # taken: the next asker does it itself


def test_the_childs_exception_is_raised_by_the_command() -> None:
    prelude.start("probe", "A001", _refuse, "/media/A001")

    with pytest.raises(FileNotFoundError) as raised:
        prelude.take("probe", "A001", lambda: None)

    assert raised.value.filename == "/media/A001"


def test_work_started_for_another_folder_is_not_used() -> None:
    prelude.start("probe", "A001", _pid)

    assert prelude.take("probe", "A002", lambda: -1) == -1


def test_a_child_killed_before_it_answered_leaves_the_work_to_the_command() -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    prelude.start("probe", "A001", die)

    assert prelude.take("probe", "A001", lambda: "done here") == "done here"


def test_a_command_killed_takes_its_child_with_it(tmp_path: Path) -> None:
    # The child may be re-hashing a terabyte: it must not go on reading for nobody.
    pid_file = tmp_path / "child.pid"
    code = f"""
import os, time
from core import prelude

def work():
    open({str(pid_file)!r}, "w").write(str(os.getpid()))
    time.sleep(60)

prelude.start("probe", "A001", work)
while not os.path.exists({str(pid_file)!r}):
    time.sleep(0.01)
time.sleep(0.1)
os.kill(os.getpid(), 9)
"""
    result = python("-c", code)
    assert result.returncode == -9, result.stderr
    child = int(pid_file.read_text())

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), f"the prelude child {child} outlived the killed command"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie waiting for init to reap it is gone for our purpose
