"""/metrics after audits: bytes verified, failures, oldest proof per tier, volumes unreachable."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tests.dashboard.test_metrics import parse
from tests.fixity.conftest import Vault, flip_byte

pytestmark = pytest.mark.django_db


def audit(*args: str) -> None:
    # The command exits non-zero when it finds a problem, which these tests plant on purpose.
    with contextlib.suppress(SystemExit):
        call_command("fixity_audit", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_fixity_metrics(vault: Vault, settings: Any) -> None:
    settings.REELVAULT_METRICS_TOKEN = "t0ken"
    flip_byte(vault.path(vault.files[0], vault.raid))
    audit("FILM/RAID-A", "--full")
    shuttle = Path(vault.shuttle.location)
    shuttle.rename(shuttle.with_name("gone"))
    audit("FILM/SHUTTLE-A")
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken").content.decode()
    samples = parse(text)
    assert samples["reelvault_fixity_bytes_verified_total"] == sum(f.size for f in vault.files)
    assert samples["reelvault_fixity_failures_total"] == 1
    assert samples["reelvault_volumes_unreachable"] == 1
    # The shuttle (warm) was not proven again: its oldest proof is the fixture's, months old.
    assert samples['reelvault_fixity_oldest_proof_seconds{tier="warm"}'] > 86400
    assert (
        samples['reelvault_fixity_oldest_proof_seconds{tier="hot"}']
        < samples['reelvault_fixity_oldest_proof_seconds{tier="warm"}']
    )
