"""A restore reads from a failing drive only when no other copy is left (restore's best-copy order)."""

from __future__ import annotations

import pytest

from catalog.models import Volume
from tests.restore.conftest import Media, Workers, host, media, workers  # noqa: F401  (fixtures)
from tests.restore.test_restore_jobs import request_and_approve, run_to_end

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_restore_reads_the_warm_shuttle_rather_than_the_failing_hot_raid(
    media: Media,  # noqa: F811
    workers: Workers,  # noqa: F811
) -> None:
    # The RAID is hot (the fastest tier, first by default) but its drive is failing.
    Volume.objects.filter(pk=media.raid.pk).update(health=Volume.Health.FAILING)
    workers.start()

    restore = run_to_end(media, workers, request_and_approve(media))

    assert restore.state == "verified", restore.error
    items = list(restore.items.select_related("source_copy__volume"))
    assert {item.source_copy.volume.label for item in items} == {"SHUTTLE-A"}
    for media_file in media.files:
        assert media.restored(restore.folder, media_file).read_bytes() == media.content[media_file.pk]
