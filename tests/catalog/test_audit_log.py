"""The audit log is append-only and tamper-evident, and holds under concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from catalog.audit import GENESIS_HASH, audit_record
from catalog.models import AuditEvent
from tests.fixtures import World, child_env


def _entries(n: int) -> list[AuditEvent]:
    return [audit_record(actor=None, action="test.event", after={"n": i, "price": 1.5}) for i in range(n)]


def test_entries_chain_from_genesis(db: None) -> None:
    first, second, third = _entries(3)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash
    assert len({first.entry_hash, second.entry_hash, third.entry_hash}) == 3


def test_update_through_the_orm_is_rejected(db: None) -> None:
    (event,) = _entries(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    event.action = "forged"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_update_and_delete_through_raw_sql_are_rejected(db: None) -> None:
    (event,) = _entries(1)
    for statement in (
        "UPDATE catalog_auditevent SET actor_name = 'mallory' WHERE id = %s",
        "DELETE FROM catalog_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, actor_name="system").exists()


def test_audit_verify_passes_on_an_intact_chain(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    _entries(5)
    call_command("audit_verify")
    assert "5 entries verified" in capsys.readouterr().out


def _tamper(sql: str, params: list[object]) -> None:
    """What a superuser could do: switch the guard off, change history, switch it back on."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE catalog_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE catalog_auditevent ENABLE TRIGGER audit_append_only")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ('UPDATE catalog_auditevent SET after = \'{"n": 99, "price": 1.5}\' WHERE id = %s', "altered"),
        ("DELETE FROM catalog_auditevent WHERE id = %s", "removed"),
    ],
)
def test_audit_verify_finds_a_superusers_tampering(
    db: None, capsys: pytest.CaptureFixture[str], sql: str, reason: str
) -> None:
    events = _entries(5)
    _tamper(sql, [events[2].pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    # An altered entry is caught at itself; a removed one at the entry after it.
    broken_at = events[2].pk if reason == "altered" else events[3].pk
    assert f"BROKEN at entry #{broken_at}" in err
    assert reason in err


WRITER = textwrap.dedent(
    """
    import django, sys
    django.setup()
    from catalog.audit import audit_record
    for i in range(int(sys.argv[1])):
        audit_record(actor=None, action="concurrent.write", after={"writer": sys.argv[2], "i": i})
    """
)


def test_concurrent_writers_from_several_processes_keep_one_chain(
    transactional_db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    writers, per_writer = 6, 40
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(per_writer), str(w)], env=child_env())
        for w in range(writers)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * writers
    assert AuditEvent.objects.filter(action="concurrent.write").count() == writers * per_writer
    # No fork: every prev_hash is used exactly once.
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == len(set(prev_hashes))
    call_command("audit_verify")
    assert f"{writers * per_writer} entries verified" in capsys.readouterr().out


def test_changes_through_the_admin_are_audited(world: World) -> None:
    client = world.client("admin")
    response = client.post(
        f"/admin/catalog/volume/{world.volume.pk}/change/",
        {
            "project": world.project.pk,
            "label": "RAID-A",
            "kind": "raid",
            "tier": "hot",
            "host": "h",
            "location": "/srv/a",
            "health": "healthy",
            "online": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.latest("id")
    assert event.action == "volume.update" and event.actor_name == "admin"
    assert event.before["location"] == world.volume.location and event.after["location"] == "/srv/a"
