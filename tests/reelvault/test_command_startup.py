"""A management command starts without loading what it does not use.

The start-up of ``manage.py mhl_verify`` (the command a DIT runs on a cart) is
checked through ``python -X importtime``: which modules the process imported,
not how long it took.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.reelvault.processes import python

# Each is a tenth of a second or more at start-up, and none is needed to verify a folder.
HEAVY = ["celery", "kombu", "fpdf", "rest_framework", "drf_spectacular", "boto3", "dashboard.services"]


def imported_modules(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = python("-X", "importtime", *argv)
    modules = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return result, modules


def test_mhl_verify_starts_without_the_web_stack_celery_or_the_pdf_writer(tmp_path: Path) -> None:
    result, modules = imported_modules("manage.py", "mhl_verify", str(tmp_path))

    assert result.returncode == 1
    assert "has no ASC MHL history" in result.stderr
    assert "copyengine.mhl" in modules  # the listing is real: the command's own modules are there
    assert [name for name in HEAVY if name in modules] == []


@pytest.mark.parametrize("tasks_module", ["ingest.tasks", "custody.tasks"])
def test_a_task_defined_after_a_lean_start_up_is_sent_through_the_projects_celery_app(
    tasks_module: str,
) -> None:
    # Celery is no longer imported at start-up; a task must still find the
    # project's app (Redis broker, our queues), not a default AMQP one.
    code = (
        "import django; django.setup(); "
        f"import importlib; importlib.import_module({tasks_module!r}); "
        "from celery import current_app; print(current_app.main, current_app.conf.broker_url)"
    )
    result = python("-c", code)

    assert result.returncode == 0, result.stderr
    main, broker = result.stdout.split()
    assert main == "reelvault"
    assert broker.startswith("redis://")


def test_the_preload_thread_imports_then_warms_up_and_swallows_a_failing_warm_up() -> None:
    from core.commands import modules_preload

    seen: list[bool] = []

    def warm_up() -> None:
        seen.append("colorsys" in sys.modules)  # the modules were imported first
        raise ConnectionError("broker down: the real send reports it")

    sys.modules.pop("colorsys", None)
    thread = modules_preload(["colorsys", "no_such_module_here"], then=warm_up)
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert seen == [True]
