"""schemathesis against the live OpenAPI schema: no input answers 500, every answer matches the schema.

A real server (pytest-django's live_server, a threaded WSGI server on a free
port of 127.0.0.1) and the schemathesis command line, authenticated as a
project admin with an API token, with a bounded number of examples per
operation and a fixed seed so a failure reproduces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.fixtures import ensure_roles

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Examples per operation in the fuzzing phase; the coverage phase adds its own boundary cases.
MAX_EXAMPLES = os.environ.get("REELVAULT_FUZZ_EXAMPLES", "5")


@pytest.mark.integration
def test_no_input_gives_a_server_error_or_breaks_the_schema(
    transactional_db: None, live_server: object, settings: Any, tmp_path: Path
) -> None:
    # The demo (as `make run` seeds it) gives every list something to answer: clips, copies,
    # review items, alerts, reports, handoffs, restore targets.
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ensure_roles()  # an earlier transactional test may have flushed the roles the migrations made
    call_command("seed_demo")
    token = Token.objects.create(user=get_user_model().objects.get(username="admin"))
    url = f"{live_server}/api/schema/"
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            url,
            "--header",
            f"Authorization: Token {token.key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "1",
            "--workers",
            "1",
            "--no-shrink",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
            "--report-dir",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        check=False,
        cwd=tmp_path,  # schemathesis keeps a cache folder in its working directory
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-4000:]
