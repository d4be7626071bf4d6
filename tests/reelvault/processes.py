"""Run a fresh Python process in the project, as ``manage.py`` or a DIT's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python(*argv: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python *argv`` in the project folder with its settings module; output captured as text."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={**(env if env is not None else os.environ), "DJANGO_SETTINGS_MODULE": "reelvault.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
