"""Test wiring: real PostgreSQL, real Redis, and (for integration tests) a real Celery worker.

Without DATABASE_URL / REDIS_URL the embedded services under var/ are started
for the run, exactly as `make run` does, and stopped afterwards.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from reelvault import embedded

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"

_started: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    # Commands that tests start run the usual way, never in a developer's `make run` command server
    # (tests/reelvault/test_command_server.py starts a server of its own and turns this on).
    os.environ["REELVAULT_COMMAND_SERVER"] = "off"
    # Workers and commands that tests start write email they send here, not into the checkout's var/.
    os.environ.setdefault("EMAIL_FILE_PATH", str(Path(tempfile.gettempdir()) / "reelvault-test-outbox"))
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        _started.update(embedded.ensure_services())
        os.environ.update(_started)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    # PBKDF2's deliberate slowness costs ~0.3 s per user created; tests need
    # working passwords, not brute-force resistance.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _roots_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests put volumes and restore targets in their tmp_path; a test of the roots themselves
    # narrows these. Workers started by a test inherit them (tests.fixtures.child_env).
    base = tmp_path_factory.getbasetemp()
    settings.REELVAULT_RESTORE_ROOTS = [*settings.REELVAULT_RESTORE_ROOTS, base]
    settings.REELVAULT_VOLUME_ROOTS = [*settings.REELVAULT_VOLUME_ROOTS, base]


@pytest.fixture(autouse=True)
def _audit_anchors_in_tmp(settings: object, tmp_path: Path) -> None:
    # Never read or append the anchors of a developer's `make run` (var/audit-anchors.jsonl).
    settings.REELVAULT_AUDIT_ANCHOR_PATH = tmp_path / "audit-anchors.jsonl"  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded.stop_services(_started)


@pytest.fixture
def samples() -> Path:
    """The shared real-world sample files; tests using them skip where they are absent."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not present in this checkout")
    return SAMPLES


pytest_plugins = ["tests.fixtures"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Let the test teardown empty the audit log.

    Django empties tables between transactional tests with TRUNCATE, which the
    audit log's guard refuses unless a superuser's session sets
    ``reelvault.audit_truncate = 'allow'`` (catalog migration 0006). This sets
    it for every connection to the throw-away test database only.
    """
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.ops.quote_name(connection.settings_dict["NAME"])
        cursor.execute(f"ALTER DATABASE {name} SET reelvault.audit_truncate = 'allow'")
        cursor.execute("SET reelvault.audit_truncate = 'allow'")
