"""A card label with a line break or quotes (older rows, the admin) must not break the download's
Content-Disposition header (it answered 500)."""

from __future__ import annotations

import pytest

from ingest.models import OffloadJob
from tests.fixtures import World


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_a_label_with_a_line_break_downloads(world: World, fmt: str) -> None:
    job = OffloadJob.objects.create(
        project=world.project,
        card=world.volume,
        label='A001\r\nSet-Cookie: x="1"',
        source_path="/cards/A001",
        host="h",
        state=OffloadJob.State.COMPLETED,
    )
    response = world.client("dit").get(f"/offloads/{job.pk}/report.{fmt}")
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert "\n" not in header and "\r" not in header and header.startswith("attachment; filename")
    assert "Set-Cookie" not in response.headers or 'x="1"' not in response.headers.get("Set-Cookie", "")
