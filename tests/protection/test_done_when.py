"""Issue 13's "done when": an offload of a card to RAID-01, in a project whose policy asks for RAID +
shuttle + an off-site WORM S3 bucket, ends with every file verified on all three, the bucket's objects
locked and the day's policy met, with nobody doing anything more.

A real Celery worker (its own host queue), real Redis and PostgreSQL, and moto's standalone server.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.test import override_settings

from catalog.models import Copy, MediaFile, Project, ShootDay, Volume
from catalog.policy import card_safe_to_format, policy_by_day
from ingest.models import OffloadJob
from protection.models import DestinationSettings, ReplicationJob, ReplicationRule, VolumeGroup
from tests.fixtures import World
from tests.ingest.conftest import write_card
from tests.protection.conftest import Workers, wait_for, xxh128_file

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_offload_to_the_raid_ends_with_the_policy_met_on_raid_shuttle_and_worm_cloud(
    world: World, host: str, s3: Any, workers: Workers, tmp_path: Path
) -> None:
    project: Project = world.project
    Project.objects.filter(pk=project.pk).update(
        required_copies=3, required_media_kinds=3, required_offsite=1, required_sites=2, worm_tiers=["cold"]
    )
    day = ShootDay.objects.create(project=project, number=1, date="2026-11-02")
    bucket = f"rv-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)

    def volume(label: str, kind: str, tier: str, **kw: Any) -> Volume:
        folder = tmp_path / label.lower()
        folder.mkdir()
        fields: dict[str, Any] = {
            "host": host,
            "location": str(folder),
            "health": "healthy",
            "site": "set cart",
        }
        return Volume.objects.create(project=project, label=label, kind=kind, tier=tier, **{**fields, **kw})

    volume("RAID-01", Volume.Kind.RAID, Volume.Tier.HOT)
    shuttle = volume("SHUTTLE-01", Volume.Kind.SHUTTLE, Volume.Tier.WARM)
    cloud = Volume.objects.create(
        project=project,
        label="CLOUD-EU",
        kind=Volume.Kind.S3,
        tier=Volume.Tier.COLD,
        location=f"s3://{bucket}/film",
        offsite=True,
        worm=True,
        site="cloud eu-west",
        health="healthy",
    )
    DestinationSettings.objects.create(volume=cloud, lock_mode="GOVERNANCE", retention_days=7)
    for name, member in (("shuttles", shuttle), ("cloud", cloud)):
        group = VolumeGroup.objects.create(project=project, name=name)
        group.volumes.set([member])
        ReplicationRule.objects.create(project=project, source_tier="hot", destination=group)
    cards = tmp_path / "cards"
    card = write_card(
        cards / "A001", {f"CLIP/A001C00{i}_261102_R1AB.mov": os.urandom(600_000 + 7 * i) for i in range(1, 5)}
    )
    workers.start()

    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(card), "destinations": ["RAID-01"], "day": 1},
            format="json",
        )
    assert response.status_code == 201, response.content

    # Nobody does anything more: the offload's proofs plan the replication, the worker runs it.
    def policy_met() -> bool:
        figures = policy_by_day(day_ids=[day.pk]).get(day.pk)
        return figures is not None and figures.clips > 0 and figures.short == 0

    wait_for(policy_met, timeout=120, message="the day's policy to be met\n" + workers.logs())
    # The offload itself verified its one destination; at its end the card was short of the 3 copies
    # safe-to-format asks for, and replication has since made them.
    offload = OffloadJob.objects.get()
    assert offload.state in (OffloadJob.State.COMPLETED, OffloadJob.State.INCOMPLETE), offload.error
    assert offload.card_id is not None and card_safe_to_format(card_id=offload.card_id).meets
    files = list(MediaFile.objects.filter(card__label="A001"))
    assert len(files) == 4
    for media_file in files:
        assert media_file.xxh128 == xxh128_file(card / media_file.relative_path)
        assert set(Copy.objects.filter(media_file=media_file).values_list("volume__label", "state")) == {
            ("RAID-01", "verified"),
            ("SHUTTLE-01", "verified"),
            ("CLOUD-EU", "verified"),
        }
        assert xxh128_file(Path(shuttle.location) / "A001" / media_file.relative_path) == media_file.xxh128
        key = f"film/A001/{media_file.relative_path}"
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (
            head["ObjectLockMode"] == "GOVERNANCE"
            and head["Metadata"]["reelvault-xxh128"] == media_file.xxh128
        )
        with pytest.raises(ClientError):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    jobs = ReplicationJob.objects.all()
    assert {j.trigger for j in jobs} == {"automatic"}
    assert all(j.state == ReplicationJob.State.VERIFIED for j in jobs), [(j.pk, j.error) for j in jobs]
    # The producer's view agrees.
    page = world.client("producer").get(f"/p/{project.code}/dashboard/")
    assert page.status_code == 200
