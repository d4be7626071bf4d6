"""The audit chain's tail is anchored outside the database, and every break is reported.

The attacks of the hardening issue, each done as a database superuser would:
deleting the newest entries, rewriting an entry and recomputing every later
hash, emptying the table. Links alone verify all three as intact; the anchors
beat appends to REELVAULT_AUDIT_ANCHOR_PATH (and the daily report prints) do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from catalog.audit import audit_record, compute_entry_hash
from catalog.models import AuditEvent


def _entries(n: int) -> list[AuditEvent]:
    return [audit_record(actor=None, action="test.event", after={"n": i}) for i in range(n)]


def _as_superuser(*statements: tuple[str, list[object]]) -> None:
    """Switch the guards off, run the statements, switch them back on."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE catalog_auditevent DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("ALTER TABLE catalog_auditevent ENABLE TRIGGER USER")


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        call_command("audit_verify", *args)
    except SystemExit as exc:
        return int(exc.code or 0), capsys.readouterr().err
    return 0, capsys.readouterr().out


def test_beat_appends_the_head_and_verify_checks_against_it(
    db: None, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _entries(3)
    call_command("audit_anchor")
    _entries(2)
    call_command("audit_anchor")
    lines = [json.loads(line) for line in Path(settings.REELVAULT_AUDIT_ANCHOR_PATH).read_text().splitlines()]
    assert [line["count"] for line in lines] == [3, 5]
    assert lines[1]["head_hash"] == AuditEvent.objects.order_by("-id").first().entry_hash  # type: ignore[union-attr]
    code, out = _verify(capsys)
    assert code == 0 and "5 entries verified, against 2 anchor(s)" in out


def test_deleting_the_newest_entries_is_caught(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    events = _entries(5)
    call_command("audit_anchor")
    _as_superuser(("DELETE FROM catalog_auditevent WHERE id >= %s", [events[3].pk]))
    code, err = _verify(capsys)
    assert code == 1
    assert "the log has 3 entries but had 5" in err and "2 of the newest entries were deleted" in err


def test_rewriting_an_entry_and_recomputing_every_later_hash_is_caught(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _entries(5)
    call_command("audit_anchor")
    # The forger rewrites entry 2 and re-chains everything after it: every link checks out.
    statements: list[tuple[str, list[object]]] = []
    prev = events[1].entry_hash
    for i, event in enumerate(events[2:], start=2):
        event.prev_hash = prev
        if i == 2:
            event.after = {"n": 99}
        event.entry_hash = compute_entry_hash(event)
        statements.append(
            (
                "UPDATE catalog_auditevent SET after = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
                [json.dumps(event.after), event.prev_hash, event.entry_hash, event.pk],
            )
        )
        prev = event.entry_hash
    _as_superuser(*statements)
    with pytest.raises(CommandError, match="does not exist"):  # a missing anchor file is an error
        call_command("audit_verify", "--anchor-file", "/nonexistent")
    code, err = _verify(capsys)
    assert code == 1
    assert f"BROKEN at entry #{events[4].pk}: entry number 5 does not have the hash anchored" in err


def test_truncate_is_refused_by_the_database(db: None) -> None:
    _entries(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            # The test database allows it for Django's teardown (tests/conftest.py); a session
            # without that opt-in is what the app and any other client are.
            cursor.execute("SET LOCAL reelvault.audit_truncate = ''")
            cursor.execute("TRUNCATE catalog_auditevent")
    assert AuditEvent.objects.count() == 2


def test_an_emptied_log_is_caught_by_the_anchor_a_daily_report_printed(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _entries(4)
    head = AuditEvent.objects.order_by("-id").first()
    assert head is not None
    _as_superuser(("TRUNCATE catalog_auditevent", []))
    assert _verify(capsys)[0] == 0  # without anchors an empty log looks intact: why anchors exist
    code, err = _verify(capsys, "--anchor", f"4:{head.entry_hash}")
    assert code == 1 and "the log has 0 entries but had 4" in err


def test_every_break_is_reported_not_only_the_first(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    events = _entries(6)
    _as_superuser(
        ("UPDATE catalog_auditevent SET actor_name = 'mallory' WHERE id = %s", [events[1].pk]),
        ("UPDATE catalog_auditevent SET actor_name = 'mallory' WHERE id = %s", [events[4].pk]),
    )
    code, err = _verify(capsys)
    assert code == 1
    assert "2 break(s) in 6 entries" in err
    assert f"BROKEN at entry #{events[1].pk}" in err and f"BROKEN at entry #{events[4].pk}" in err


def test_the_daily_report_prints_the_anchor(world: Any) -> None:
    from dashboard.services import daily_report_generate

    _entries(2)
    head = AuditEvent.objects.order_by("-id").first()
    assert head is not None
    count = AuditEvent.objects.count()
    from datetime import date

    report = daily_report_generate(project=world.project, report_date=date(2026, 11, 2))
    assert report.data["audit_anchor"] == f"{count}:{head.entry_hash}"
    assert f"audit_verify --anchor {count}:{head.entry_hash}" in report.html
