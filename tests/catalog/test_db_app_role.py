"""The app's database role (docker-compose.yml) may only insert into and read the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from catalog.audit import audit_record
from tests.fixtures import database_url_for_tests


@pytest.fixture
def app_role(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    role = f"rv_app_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REELVAULT_APP_DB_PASSWORD", "app-secret")
    call_command("db_app_role", "--role", role)
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


def test_the_app_role_can_append_and_read_but_not_rewrite_the_audit_log(app_role: str) -> None:
    event = audit_record(actor=None, action="test.event")
    url = database_url_for_tests().replace("postgresql://postgres@", f"postgresql://{app_role}:app-secret@")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM catalog_auditevent").fetchone() == (1,)
        conn.execute("UPDATE catalog_project SET name = name")  # the rest of the catalog is writable
        for statement, params in (
            ("UPDATE catalog_auditevent SET actor_name = 'mallory' WHERE id = %s", [event.pk]),
            ("DELETE FROM catalog_auditevent WHERE id = %s", [event.pk]),
            ("TRUNCATE catalog_auditevent", []),
            ("ALTER TABLE catalog_auditevent DISABLE TRIGGER USER", []),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, params)
