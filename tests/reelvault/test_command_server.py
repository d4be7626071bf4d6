"""``manage.py`` commands through the command server (reelvault/commandserver.py): same result, sooner.

A command the server takes must do and say exactly what it does when
``manage.py`` starts Django itself; one it must not take (other settings, a
shell) runs the usual way. The server is a real ``manage.py command_server``
process; the commands are real ``manage.py`` runs against the test database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Copy, MediaFile
from reelvault.commandserver import code_and_packages_stamp, environment_as_django_sets_it
from tests.fixtures import ProjectFactory, child_env
from tests.ingest.conftest import write_card
from tests.reelvault.processes import python

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "mhl/ascmhl_v2/scenario_03_md5_added/A002R2EC"


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "command_server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        self.wait_for("ready", timeout=60)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.strip())

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log:
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"the command server never said {text!r}; it said {self.log}")

    def said(self, text: str) -> bool:
        return any(text in line for line in self.log)


@pytest.fixture
def server() -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="rvcs-", dir="/tmp"))  # unix socket paths are short
    served = Server(
        child_env(REELVAULT_COMMAND_SOCKET=str(folder / "commands.sock"), REELVAULT_COMMAND_SERVER="on")
    )
    yield served
    served.process.terminate()
    served.process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


def manage(server: Server, *args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env={**server.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_mhl_verify_says_the_same_through_the_server_as_on_its_own(
    server: Server, samples: Path, tmp_path: Path
) -> None:
    card = tmp_path / "A002R2EC"
    shutil.copytree(samples / SCENARIO, card)
    clip = card / "Clips" / "A002C006_141024_R2EC.mov"

    good_warm = manage(server, "mhl_verify", "A002R2EC", cwd=tmp_path)  # a path relative to the caller
    good_cold = manage(server, "mhl_verify", "A002R2EC", cwd=tmp_path, REELVAULT_COMMAND_SERVER="off")
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))
    bad_warm = manage(server, "mhl_verify", str(card))
    bad_cold = manage(server, "mhl_verify", str(card), REELVAULT_COMMAND_SERVER="off")

    assert good_warm.returncode == 0, good_warm.stderr
    assert f"{card}: OK (3 ok)" in good_warm.stdout
    assert (good_warm.returncode, good_warm.stdout, good_warm.stderr) == (
        good_cold.returncode,
        good_cold.stdout,
        good_cold.stderr,
    )
    assert bad_warm.returncode == 1
    assert "MISMATCH  Clips/A002C006_141024_R2EC.mov" in bad_warm.stderr
    assert (bad_warm.returncode, bad_warm.stdout, bad_warm.stderr) == (
        bad_cold.returncode,
        bad_cold.stdout,
        bad_cold.stderr,
    )
    assert sum("mhl_verify: started" in line for line in server.log) == 2  # the two warm runs, not the cold


def test_an_offload_through_the_server_catalogs_every_verified_copy(
    server: Server, transactional_db: None, tmp_path: Path
) -> None:
    ProjectFactory(code="FILM")
    card = write_card(tmp_path / "cards" / "A001", {"A001C001_261102_R1AB.mov": b"x" * 300_000})

    result = manage(
        server,
        *("offload", "--project", "FILM", "--source", str(card)),
        *("--dest", str(tmp_path / "raid"), "--dest", str(tmp_path / "shuttle"), "--json"),
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["state"] == "completed" and summary["safe_to_format"] is True
    copies = Copy.objects.filter(media_file__in=MediaFile.objects.filter(card__label="A001"))
    assert sorted(copies.values_list("state", flat=True)) == [Copy.State.VERIFIED, Copy.State.VERIFIED]
    assert server.said("offload: started")
    ended = server.wait_for("ended, exit")
    assert ended.endswith("exit 0")


def test_a_caller_with_other_settings_runs_the_command_itself_with_its_own(server: Server) -> None:
    result = manage(server, "diffsettings", REELVAULT_TIME_ZONE="Europe/Berlin")

    assert result.returncode == 0, result.stderr
    assert "TIME_ZONE = 'Europe/Berlin'" in result.stdout  # the caller's settings, not the server's
    assert "TIME_ZONE" in server.wait_for("different settings:")
    assert not server.said("diffsettings: started")


def test_a_shell_is_never_handed_to_the_server(server: Server) -> None:
    result = manage(server, "shell", "-c", "print('from a shell')")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("from a shell\n")
    assert not server.said("shell")


def test_a_second_server_on_the_same_socket_is_refused_with_the_remedy(server: Server) -> None:
    second = manage(server, "command_server")

    assert second.returncode != 0
    assert "a command server already answers at" in second.stderr
    assert "REELVAULT_COMMAND_SOCKET" in second.stderr
    assert manage(server, "version").returncode == 0  # the first one still serves
    server.wait_for("version: started")


def test_with_keep_going_a_server_that_cannot_serve_says_why_and_waits(server: Server) -> None:
    # make run's Procfile entry: honcho would stop web, worker and beat if this process ended.
    second = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "command_server", "--keep-going"],
        cwd=ROOT,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert second.stderr is not None
    said = second.stderr.readline()
    time.sleep(0.5)
    still_running = second.poll() is None
    second.terminate()
    second.wait(timeout=30)

    assert "a command server already answers at" in said and "commands start the usual way" in said
    assert still_running


def test_the_server_loads_every_command_and_what_they_load_late_without_starting_a_thread() -> None:
    code = (
        "import sys, threading, django; django.setup()\n"
        "from reelvault.commandserver import preload_commands\n"
        "before = 'kombu.transport.redis' in sys.modules\n"
        "count = preload_commands()\n"
        "from django.db import connections\n"
        "opened = [c.alias for c in connections.all(initialized_only=True) if c.connection is not None]\n"
        "after = 'kombu.transport.redis' in sys.modules\n"
        "print(before, after, count > 20, threading.active_count(), opened)\n"
    )
    result = python("-c", code, env=child_env())

    assert result.returncode == 0, result.stderr
    # The offload's broker client (a late import of the command) is in; no thread and no database
    # connection that a fork would share.
    assert result.stdout.split() == ["False", "True", "True", "1", "[]"]


def test_the_fork_exports_the_projects_time_zone_as_django_does_for_programs_it_starts(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fork's environment is the caller's, which has no TZ or another one.
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    settings.TIME_ZONE = "Europe/Berlin"
    try:
        environment_as_django_sets_it()

        assert os.environ["TZ"] == "Europe/Berlin"
        assert time.tzname[0] in {"CET", "CEST"}
    finally:
        monkeypatch.undo()
        time.tzset()


def test_installing_a_package_counts_as_changed_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import site

    packages = tmp_path / "site-packages"
    packages.mkdir()
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(packages)])
    before = code_and_packages_stamp()
    os.utime(packages, ns=(0, 0))  # so that the change shows even where file times are coarse
    (packages / "newpkg-1.0.dist-info").mkdir()  # what pip install does

    assert code_and_packages_stamp() != before
