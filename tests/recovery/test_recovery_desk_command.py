"""manage.py recovery_desk: the rota and the ladder from the command line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts.models import DutyShift, EscalationContact, EscalationStep
from catalog.models import AuditEvent
from tests.fixtures import World


def run(*args: str) -> str:
    out = StringIO()
    call_command("recovery_desk", *args, stdout=out)
    return out.getvalue()


def test_the_command_sets_the_rota_and_the_ladder(world: World) -> None:
    now = timezone.localtime()
    start, end = (now - timezone.timedelta(hours=1)), (now + timezone.timedelta(hours=8))
    fmt = "%Y-%m-%dT%H:%M"
    out = run("FILM", "--shift", "dit", start.strftime(fmt), end.strftime(fmt), "--reach", "radio 4")
    assert "on duty now: dit" in out
    assert "1. Project admins after 30 min: admin" in out  # the default ladder
    out = run(
        "FILM",
        "--step",
        "DIT on duty:10:@duty",
        "--step",
        "Vendor:60:producer,raid@vendor.example,https://hooks.example.test/x",
    )
    assert "1. DIT on duty after 10 min: whoever is on duty" in out
    assert "2. Vendor after 60 min: producer, raid@vendor.example, https://hooks.example.test/x" in out
    assert DutyShift.objects.get().reach == "radio 4"
    assert EscalationStep.objects.count() == 2 and EscalationContact.objects.count() == 3
    assert AuditEvent.objects.filter(action="alert.ladder_set").count() == 1
    with pytest.raises(CommandError, match="not members of FILM: outsider"):
        run("FILM", "--step", "Odd:5:outsider")
    run("FILM", "--default-ladder")
    assert EscalationStep.objects.count() == 0
