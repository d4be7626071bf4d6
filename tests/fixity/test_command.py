"""``manage.py fixity_audit`` on real files: every fault of the issue found and recorded."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import AuditEvent, Copy
from copyengine import mhl
from fixity.models import FixityRun, VolumeFixity
from tests.fixity.conftest import PROVEN_AT, Vault, build_vault, flip_byte
from tests.fixtures import World

pytestmark = pytest.mark.django_db


def audit(*args: str) -> tuple[int, str, FixityRun]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("fixity_audit", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), FixityRun.objects.latest("pk")


def test_a_clean_volume_is_proven_again(vault: Vault) -> None:
    code, out, run = audit("FILM/RAID-A", "--full")
    assert code == 0, out
    assert run.state == FixityRun.State.FINISHED
    assert (run.files_checked, run.proven, run.corrupt, run.missing, run.extra) == (4, 4, 0, 0, 0)
    assert run.bytes_checked == sum(f.size for f in vault.files)
    for media_file in vault.files:
        copy = vault.copy(media_file, vault.raid)
        assert copy.state == Copy.State.VERIFIED and copy.verified_at > PROVEN_AT
        # The shuttle was not audited: its proofs are untouched.
        assert vault.copy(media_file, vault.shuttle).verified_at == PROVEN_AT
    assert "Proven 4, corrupt 0, missing 0" in out
    assert AuditEvent.objects.filter(action="copies.record", object_id=str(vault.raid.pk)).exists()
    assert VolumeFixity.objects.get(volume=vault.raid).last_complete_at is not None


def test_flipped_truncated_deleted_extra_are_each_found(vault: Vault) -> None:
    flipped, truncated, deleted, _ = vault.files
    flip_byte(vault.path(flipped, vault.raid), 1000)
    with vault.path(truncated, vault.raid).open("r+b") as stream:
        stream.truncate(100)
    vault.path(deleted, vault.raid).unlink()
    stray = Path(vault.raid.location) / "A001" / "notes from set.txt"
    stray.write_bytes(b"hand copy")
    partial = Path(vault.raid.location) / "A001" / ".A001C009_X.mov.reelvault-partial"
    partial.write_bytes(b"half")
    code, out, run = audit("FILM/RAID-A", "--full")
    assert code == 1
    assert (run.proven, run.corrupt, run.missing, run.extra) == (1, 2, 1, 2)
    assert vault.copy(flipped, vault.raid).state == Copy.State.CORRUPT
    assert vault.copy(flipped, vault.raid).hash_found not in ("", flipped.xxh128)
    assert vault.copy(truncated, vault.raid).state == Copy.State.CORRUPT
    assert vault.copy(deleted, vault.raid).state == Copy.State.MISSING
    extras = {f["path"]: f["detail"] for f in run.findings if f["kind"] == "extra"}
    assert "partial" in extras["A001/.A001C009_X.mov.reelvault-partial"]
    assert "not in the catalog" in extras["A001/notes from set.txt"]
    # Nothing was deleted.
    assert stray.exists() and partial.exists()
    assert "corrupt  A001/A001C001_X/A001C001_X.mov" in out


def test_a_renamed_folder_is_missing_and_offered_as_moved(vault: Vault) -> None:
    root = Path(vault.raid.location)
    (root / "A001").rename(root / "A001 old")
    code, _, run = audit("FILM/RAID-A")
    assert code == 1
    assert run.missing == 4 and run.moved == 4 and run.extra == 0
    moved = {f["path"]: f["to"] for f in run.findings if f["kind"] == "moved"}
    first = vault.files[0]
    assert moved[f"A001/{first.relative_path}"] == f"A001 old/{first.relative_path}"
    assert vault.copy(first, vault.raid).state == Copy.State.MISSING


def test_an_unmounted_volume_is_unreachable_not_missing(vault: Vault) -> None:
    root = Path(vault.raid.location)
    root.rename(root.with_name("raid-unplugged"))
    root.mkdir()  # the empty mount point stays behind
    code, _out, run = audit("FILM/RAID-A")
    assert code == 1
    assert run.state == FixityRun.State.UNREACHABLE
    assert "not mounted" in run.error
    assert set(Copy.objects.filter(volume=vault.raid).values_list("state", flat=True)) == {
        Copy.State.VERIFIED
    }
    state = VolumeFixity.objects.get(volume=vault.raid)
    assert state.unreachable_since is not None and state.unreachable_host == vault.host
    # Plugged in again: reachable, proven.
    root.rmdir()
    root.with_name("raid-unplugged").rename(root)
    code, _, run = audit("FILM/RAID-A")
    assert code == 0 and run.proven == 4
    assert VolumeFixity.objects.get(volume=vault.raid).unreachable_since is None


def test_a_malformed_mhl_history_is_named_and_files_are_still_checked(vault: Vault) -> None:
    card_folder = Path(vault.raid.location) / "A001"
    history = card_folder / mhl.ASCMHL_FOLDER
    history.mkdir()
    (history / "ascmhl_chain.xml").write_text("<ascmhldirectory><hashlist")
    flip_byte(vault.path(vault.files[1], vault.raid))
    code, _, run = audit("FILM/RAID-A", "--full")
    assert code == 1
    assert run.state == FixityRun.State.FINISHED
    assert run.proven == 3 and run.corrupt == 1
    problems = [f for f in run.findings if f["kind"] == "mhl"]
    assert len(problems) == 1 and "ascmhl_chain.xml" in problems[0]["detail"]


def test_audits_append_a_verify_generation_to_a_card_history(vault: Vault) -> None:
    card_folder = Path(vault.raid.location) / "A001"
    mhl.write_generation(
        card_folder,
        files=[
            mhl.FileRecord(path=f.relative_path, size=f.size, mtime=PROVEN_AT, hashes={"xxh128": f.xxh128})
            for f in vault.files
        ],
        creator=mhl.Creator(tool_version="test"),
    )
    flip_byte(vault.path(vault.files[0], vault.raid))
    _code, _, run = audit("FILM/RAID-A", "--full")
    history = mhl.read_history(card_folder)
    assert len(history.generations) == 2
    actions = {e.path: [h.action for h in e.hashes] for e in history.generations[1].hashes}
    assert actions[vault.files[0].relative_path] == ["failed"]
    assert actions[vault.files[1].relative_path] == ["verified"]
    # The history's own files are ours, not media: never reported as extra files on the volume.
    assert not [f for f in run.findings if f["kind"] == "extra"], run.findings
    # The ASC reference tool reads the history the audit appended to.
    tool = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin" / "ascmhl"
    if tool.exists():
        proxy = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
        info = subprocess.run(
            [str(tool), "info", str(card_folder)], capture_output=True, text=True, env={**os.environ, **proxy}
        )
        assert info.returncode == 0, info.stdout + info.stderr
        assert "Generation 2" in info.stdout or "0002" in info.stdout, info.stdout


def test_budget_and_sample_limit_what_is_checked(vault: Vault) -> None:
    _code, _, run = audit("FILM/RAID-A", "--budget-gb", "0.0003")  # 300 kB: the oldest first, at least one
    assert run.files_checked == 1
    _code, _, run = audit("FILM/RAID-A", "--sample", "2")
    assert run.kind == FixityRun.Kind.SAMPLE and run.files_checked == 2


def test_an_unknown_volume_is_a_clear_error(vault: Vault) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no volume FILM/NOPE"):
        call_command("fixity_audit", "FILM/NOPE")


def test_a_volume_in_transit_raises_no_unreachable_alert(vault: Vault) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from alerts.models import Alert
    from custody.models import Handoff
    from fixity.services import fixity_audits_due

    root = Path(vault.shuttle.location)
    root.rename(root.with_name("in-the-van"))
    audit("FILM/SHUTTLE-A")
    VolumeFixity.objects.filter(volume=vault.shuttle).update(
        unreachable_since=timezone.now() - timedelta(days=5)
    )
    handoff = Handoff.objects.create(
        volume=vault.shuttle,
        project=vault.world.project,
        from_place="Set",
        to_place="Lab",
        handed_at=timezone.now(),
    )
    fixity_audits_due()
    key = f"fixity.unreachable:volume:{vault.shuttle.pk}"
    assert not Alert.objects.filter(key=key).exists()
    page = vault.world.client("viewer").get(f"/volumes/{vault.shuttle.pk}/fixity/").content.decode()
    assert "expected: in transit to Lab" in page
    handoff.state, handoff.received_at = Handoff.State.RECEIVED, timezone.now()
    handoff.save()
    fixity_audits_due()
    assert Alert.objects.filter(key=key).count() == 1


def test_many_small_files_read_ahead_find_a_flip_among_them(world: World, tmp_path: Path, host: str) -> None:
    # More files than a batch and than the read-ahead window: each is still hashed from what is on disk.
    many = build_vault(world, tmp_path / "many", host=host, sizes=tuple(1000 + i for i in range(150)))
    flip_byte(many.path(many.files[120], many.raid), 500)
    many.path(many.files[70], many.raid).unlink()
    code, _, run = audit("FILM/RAID-A", "--full")
    assert code == 1
    assert (run.files_checked, run.proven, run.corrupt, run.missing) == (150, 148, 1, 1)
    assert many.copy(many.files[120], many.raid).state == Copy.State.CORRUPT
    assert many.copy(many.files[70], many.raid).state == Copy.State.MISSING
