"""manage.py replicate: plans from the rules, copies from the best verified copy, proves, records."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import AuditEvent, Copy, Volume
from catalog.policy import short_clips
from protection.models import ReplicationItem, ReplicationJob
from tests.protection.conftest import Footage, flip_byte, xxh128_file

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> int:
    try:
        call_command("replicate", *args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_a_card_is_replicated_to_the_group_verified_and_recorded(footage: Footage) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD, site="vault", offsite=True)
    footage.rule(footage.group("lto", lto))

    assert run("--project", "FILM", "--card", "A001") == 0

    for media_file in footage.files:
        copy = Copy.objects.get(media_file=media_file, volume=lto)
        assert copy.state == Copy.State.VERIFIED and copy.hash_found == media_file.xxh128
        assert xxh128_file(Path(lto.location) / copy.path) == media_file.xxh128
    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.VERIFIED and job.files_done == 3
    assert job.items.filter(source_copy__volume=footage.raid).count() == 3
    # Recorded through catalog.copies: its audit entry names the replication.
    entry = AuditEvent.objects.filter(action="copies.record", object_id=str(lto.pk)).get()
    assert entry.after["replication"] == job.pk and entry.after["counts"] == {"verified": 3}
    # Running again plans nothing: every rule is met.
    assert run("--project", "FILM", "--card", "A001") == 0
    assert ReplicationJob.objects.count() == 1


def test_a_flipped_byte_in_the_source_is_caught_and_the_next_copy_is_used(footage: Footage) -> None:
    shuttle = footage.volume("SHUTTLE-1", Volume.Kind.SHUTTLE, Volume.Tier.WARM)
    footage.place(shuttle)
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    victim = footage.files[0]
    flip_byte(Path(footage.raid.location) / "A001" / victim.relative_path, offset=1000)

    assert run("--project", "FILM", "--day", "1") == 0

    raid_copy = Copy.objects.get(media_file=victim, volume=footage.raid)
    assert raid_copy.state == Copy.State.CORRUPT
    assert Copy.objects.get(media_file=victim, volume=lto).state == Copy.State.VERIFIED
    item = ReplicationItem.objects.get(media_file=victim)
    assert item.source_copy is not None and item.source_copy.volume == shuttle
    assert [t["outcome"] for t in item.tries] == ["corrupt", "copied"]
    assert xxh128_file(Path(lto.location) / "A001" / victim.relative_path) == victim.xxh128
    assert AuditEvent.objects.filter(action="copy.corrupt", object_id=str(raid_copy.pk)).exists()


def test_every_copy_bad_fails_that_file_only_and_nothing_counts(footage: Footage) -> None:
    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    victim = footage.files[1]
    flip_byte(Path(footage.raid.location) / "A001" / victim.relative_path)

    assert run("--project", "FILM", "--card", "A001") == 1

    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.FAILED and "every copy is bad" in job.error
    assert not Copy.objects.filter(media_file=victim, volume=lto).exists()
    assert not list((Path(lto.location) / "A001").rglob(f"*{Path(victim.relative_path).name}*"))
    assert Copy.objects.filter(volume=lto, state=Copy.State.VERIFIED).count() == 2


def test_a_failing_destination_is_skipped_for_its_healthy_group_member(footage: Footage) -> None:
    sick = footage.volume("SHUTTLE-1", Volume.Kind.SHUTTLE, Volume.Tier.WARM, health="failing")
    good = footage.volume("SHUTTLE-2", Volume.Kind.SHUTTLE, Volume.Tier.WARM)
    footage.rule(footage.group("shuttles", sick, good))

    assert run("--project", "FILM", "--card", "A001") == 0

    assert ReplicationJob.objects.get().destination == good
    assert not Copy.objects.filter(volume=sick).exists()


def test_a_local_worm_destination_gets_read_only_files(footage: Footage) -> None:
    vault = footage.volume("VAULT-1", Volume.Kind.NAS, Volume.Tier.COLD, worm=True)
    footage.rule(footage.group("vault", vault))

    assert run("--project", "FILM", "--card", "A001") == 0

    for media_file in footage.files:
        mode = (Path(vault.location) / "A001" / media_file.relative_path).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_the_policy_counts_sites_and_worm_tiers(footage: Footage) -> None:
    project = footage.world.project
    project.required_copies, project.required_sites, project.worm_tiers = 2, 2, ["cold"]
    project.save()
    cold = footage.volume("COLD-1", Volume.Kind.NAS, Volume.Tier.COLD, site="vault")
    footage.place(cold)  # not WORM: on a WORM tier it does not count
    day = footage.clips[0].day
    assert day is not None
    short = short_clips(day_ids=[day.pk])
    assert len(short) == 2 and "1 of 2 verified copies" in short[0].reasons
    Volume.objects.filter(pk=cold.pk).update(worm=True)
    assert short_clips(day_ids=[day.pk]) == []
    Volume.objects.filter(pk=cold.pk).update(site="set cart")  # the RAID's site: one site only
    assert "1 of 2 sites" in short_clips(day_ids=[day.pk])[0].reasons


def test_a_file_the_destination_reads_back_wrong_fails_and_the_others_count(
    footage: Footage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are read back on a second thread while the next is copied: a copy counts only after
    its own read-back matched, whatever happened to the files around it."""
    from copyengine.backends.local import LocalCardWriter, LocalPendingCopy

    lto = footage.volume("LTO-1", Volume.Kind.LTO, Volume.Tier.COLD)
    footage.rule(footage.group("lto", lto))
    victim = footage.files[1]
    real_make_durable = LocalCardWriter.make_durable

    def make_durable(self: LocalCardWriter, pendings: Any) -> Any:
        # The drive corrupts one file after it was written (seen only by reading it back).
        for pending in pendings:
            if isinstance(pending, LocalPendingCopy) and pending.relpath.endswith(victim.relative_path):
                flip_byte(pending.temp, offset=10)
        return real_make_durable(self, pendings)

    monkeypatch.setattr(LocalCardWriter, "make_durable", make_durable)

    assert run("--project", "FILM", "--card", "A001") == 1

    job = ReplicationJob.objects.get()
    assert job.state == ReplicationJob.State.FAILED and "read back as xxh128" in job.error
    item = ReplicationItem.objects.get(media_file=victim)
    assert item.state == ReplicationItem.State.FAILED
    assert [t["outcome"] for t in item.tries] == ["destination"]
    assert not Copy.objects.filter(media_file=victim, volume=lto, state=Copy.State.VERIFIED).exists()
    assert not list((Path(lto.location) / "A001").rglob(f"*{Path(victim.relative_path).name}*"))
    others = [f for f in footage.files if f != victim]
    for media_file in others:
        copy = Copy.objects.get(media_file=media_file, volume=lto)
        assert copy.state == Copy.State.VERIFIED
        assert xxh128_file(Path(lto.location) / copy.path) == media_file.xxh128
    # The source was fine: it is not condemned.
    assert Copy.objects.get(media_file=victim, volume=footage.raid).state == Copy.State.VERIFIED
