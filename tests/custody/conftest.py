"""Custody fixtures: a mounted drive folder on this host, and a fake smartctl on PATH."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import AuditEvent


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    """A folder standing for a drive mounted on this host."""
    root = tmp_path / "mnt" / "shuttle"
    root.mkdir(parents=True)
    return root


@pytest.fixture
def hostname() -> str:
    return str(settings.REELVAULT_HOSTNAME)


FakeSmartctl = Callable[..., Path]


@pytest.fixture
def fake_smartctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSmartctl:
    """Install a `smartctl` script first on PATH that prints a file (or text) and exits with a code.

    It also logs its arguments, so tests can see which device it was asked about.
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")

    def install(output: Path | str = "", *, exit_code: int = 0, sleep: float = 0) -> Path:
        text_file = tmp_path / "smartctl-output"
        if isinstance(output, Path):
            text_file.write_bytes(output.read_bytes())
        else:
            text_file.write_text(output)
        script = bindir / "smartctl"
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$@" >> "{tmp_path}/smartctl-calls"\n'
            + (f"sleep {sleep}\n" if sleep else "")
            + f'cat "{text_file}"\n'
            f"exit {exit_code}\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return tmp_path / "smartctl-calls"

    return install


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def queue_purge(queue: str) -> None:
    """Drop the tasks left on a host queue no worker serves (beat's dispatch sends to every host)."""
    from reelvault.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)
