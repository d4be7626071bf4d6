"""Copy states change only through catalog/copies.py, only with proof, audited, and alerted after commit.

Through the service itself, and through the public entry points that use it:
the offload and mhl_verify commands, on real files and the real catalog.
A last test walks the source tree and fails if anything else writes a copy's state.
"""

from __future__ import annotations

import ast
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xxhash
from django.core.management import call_command
from django.db import transaction

from alerts.models import Alert
from catalog.copies import (
    CopyCheck,
    CopyProofError,
    Found,
    copies_record,
    copy_condemn_if_verified,
    copy_problem_found,
)
from catalog.models import AuditEvent, Copy, MediaFile, Volume
from tests.fixtures import World
from tests.ingest.conftest import write_card

ROOT = Path(__file__).resolve().parents[2]


def media_file(world: World, name: str, data: bytes) -> MediaFile:
    return MediaFile.objects.create(
        clip=world.clip, relative_path=name, size=len(data), xxh128=xxhash.xxh3_128(data).hexdigest()
    )


def proven(file: MediaFile) -> CopyCheck:
    return CopyCheck(
        media_file=file, path=f"A001/{file.relative_path}", found=Found.PROVEN, hash_found=file.xxh128
    )


def record(world: World, checks: list[CopyCheck], volume: Volume | None = None) -> dict[int, str]:
    return copies_record(
        actor=world.users["dit"], volume=volume or world.volume, checks=checks, source="A test check"
    ).states


# --- The service ----------------------------------------------------------------------------------


def test_verified_without_matching_proof_is_refused_and_nothing_is_written(world: World) -> None:
    good, other = media_file(world, "a.mov", b"a" * 100), media_file(world, "b.mov", b"b" * 100)
    wrong = CopyCheck(media_file=other, path="A001/b.mov", found=Found.PROVEN, hash_found=good.xxh128)
    no_hash = CopyCheck(media_file=other, path="A001/b.mov", found=Found.PROVEN)
    for bad in (wrong, no_hash):
        with pytest.raises(CopyProofError, match="counts only with proof"):
            record(world, [proven(good), bad])
    assert not Copy.objects.exists()
    assert not AuditEvent.objects.filter(action="copies.record").exists()


def test_a_batch_is_verified_with_its_proof_and_one_audit_entry(world: World) -> None:
    files = [media_file(world, f"{n}.mov", bytes([n]) * 64) for n in range(3)]
    states = record(world, [proven(f) for f in files])
    assert set(states.values()) == {Copy.State.VERIFIED}
    for file in files:
        copy = Copy.objects.get(media_file=file, volume=world.volume)
        assert copy.hash_found == file.xxh128 and copy.verified_at is not None and copy.last_error == ""
    (event,) = AuditEvent.objects.filter(action="copies.record")
    assert event.actor_name == "dit" and event.object_id == str(world.volume.pk)
    assert event.after["counts"] == {"verified": 3} and event.after["before"] == {"new": 3}
    assert sorted(event.after["paths"]["verified"]) == ["A001/0.mov", "A001/1.mov", "A001/2.mov"]


def test_a_conflict_condemns_a_verified_copy_and_fails_a_new_one(world: World) -> None:
    kept, fresh = media_file(world, "kept.mov", b"k" * 10), media_file(world, "fresh.mov", b"f" * 10)
    record(world, [proven(kept)])
    first_proof = Copy.objects.get(media_file=kept).verified_at
    states = record(
        world,
        [
            CopyCheck(media_file=kept, path="A001/kept.mov", found=Found.CONFLICT, error="a different file"),
            CopyCheck(
                media_file=fresh, path="A001/fresh.mov", found=Found.CONFLICT, error="a different file"
            ),
        ],
    )
    assert states == {kept.pk: Copy.State.CORRUPT, fresh.pk: Copy.State.FAILED}
    corrupt = Copy.objects.get(media_file=kept)
    # It no longer counts, but the catalog still knows when it was last proven good.
    assert corrupt.verified_at == first_proof and corrupt.last_error == "a different file"
    world.clip.refresh_from_db()
    assert world.clip.min_verified_copies == 0


def test_a_corrupt_or_missing_copy_raises_one_alert_per_volume_after_commit(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    files = [media_file(world, f"{n}.mov", bytes([n]) * 64) for n in range(4)]
    record(world, [proven(f) for f in files])
    with django_capture_on_commit_callbacks() as callbacks:
        record(
            world,
            [
                CopyCheck(media_file=files[0], path="A001/0.mov", found=Found.CORRUPT, hash_found="0" * 32),
                CopyCheck(media_file=files[1], path="A001/1.mov", found=Found.CORRUPT, error="mismatch"),
                CopyCheck(media_file=files[2], path="A001/2.mov", found=Found.MISSING, error="gone"),
                proven(files[3]),
            ],
        )
        assert not Alert.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    corrupt = Alert.objects.get(kind="copy.corrupt")
    assert corrupt.key == f"copy.corrupt:volume:{world.volume.pk}"
    assert corrupt.details["items"] == ["A001/0.mov", "A001/1.mov"]
    assert Alert.objects.get(kind="copy.missing").details["items"] == ["A001/2.mov"]
    assert Alert.objects.count() == 2
    assert Copy.objects.get(media_file=files[0]).hash_found == "0" * 32


def test_a_rolled_back_record_changes_nothing_and_alerts_nobody(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    file = media_file(world, "a.mov", b"a" * 10)
    record(world, [proven(file)])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            record(world, [CopyCheck(media_file=file, path="A001/a.mov", found=Found.MISSING)])
            raise RuntimeError("the caller's transaction fails")
    assert Copy.objects.get(media_file=file).state == Copy.State.VERIFIED
    assert not Alert.objects.exists()
    assert AuditEvent.objects.filter(action="copies.record").count() == 1


@pytest.fixture
def faulty_receiver() -> Iterator[list[str]]:
    """A second receiver of copy_problem_found that fails, like a broken integration."""
    calls: list[str] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs["state"])
        raise RuntimeError("the receiver is broken")

    copy_problem_found.connect(receiver, dispatch_uid="test.faulty")
    try:
        yield calls
    finally:
        copy_problem_found.disconnect(dispatch_uid="test.faulty")


@pytest.mark.django_db(transaction=True)
def test_a_fault_in_an_alert_receiver_does_not_undo_the_copy_state(
    world: World, faulty_receiver: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    file = media_file(world, "a.mov", b"a" * 10)
    record(world, [proven(file)])
    with caplog.at_level(logging.ERROR):
        # Its own transaction commits; the receivers run after it.
        record(world, [CopyCheck(media_file=file, path="A001/a.mov", found=Found.CORRUPT, error="mismatch")])
    assert faulty_receiver == ["corrupt"]
    assert "the receiver is broken" in caplog.text
    assert Copy.objects.get(media_file=file).state == Copy.State.CORRUPT
    assert AuditEvent.objects.filter(action="copies.record").count() == 2
    # The other receivers still ran: the alert is there.
    assert Alert.objects.get().kind == "copy.corrupt"


def test_condemn_if_verified_changes_a_verified_copy_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    file = media_file(world, "a.mov", b"a" * 10)
    record(world, [proven(file)])
    copy = Copy.objects.get(media_file=file)
    with django_capture_on_commit_callbacks(execute=True):
        changed = copy_condemn_if_verified(
            actor=None,
            copy=copy,
            state=Copy.State.CORRUPT,
            error="xxh128 differs",
            hash_found="f" * 32,
            source="Restore 7",
            context={"restore": 7},
            link="/restores/7/",
        )
    assert changed is True
    copy.refresh_from_db()
    assert (copy.state, copy.hash_found, copy.last_error) == ("corrupt", "f" * 32, "xxh128 differs")
    event = AuditEvent.objects.get(action="copy.corrupt")
    assert event.object_id == str(copy.pk) and event.after["restore"] == 7
    assert Alert.objects.get().link == "/restores/7/"
    with django_capture_on_commit_callbacks(execute=True):
        again = copy_condemn_if_verified(
            actor=None, copy=copy, state=Copy.State.MISSING, error="gone", source="Restore 8"
        )
    assert again is False
    copy.refresh_from_db()
    assert copy.state == Copy.State.CORRUPT
    assert AuditEvent.objects.filter(action__startswith="copy.").count() == 1
    assert Alert.objects.get().occurrences == 1
    with pytest.raises(ValueError, match="corrupt or missing"):
        copy_condemn_if_verified(actor=None, copy=copy, state=Copy.State.VERIFIED, error="", source="x")


# --- Through the commands -------------------------------------------------------------------------

CARD = {
    "A001C001_261102_R1AB.mov": os.urandom(70_000),
    "A001C002_261102_R1AB.mov": os.urandom(50_000),
    "A001C003_261102_R1AB.mov": os.urandom(30_000),
}


def offload(card: Path, *destinations: Path) -> int:
    args = ["--project", "FILM", "--source", str(card)]
    for destination in destinations:
        args += ["--dest", str(destination)]
    try:
        call_command("offload", *args, stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def mhl_verify(folder: Path) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("mhl_verify", str(folder), stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def offloaded(world: World, tmp_path: Path) -> tuple[Path, Path, Path]:
    card = write_card(tmp_path / "cards" / "A001", CARD)
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    assert offload(card, raid, shuttle) == 0
    return card, raid, shuttle


def test_an_offload_records_each_destination_in_one_audited_batch(
    offloaded: tuple[Path, Path, Path],
) -> None:
    _, raid, shuttle = offloaded
    for folder in (raid, shuttle):
        volume = Volume.objects.get(location=str(folder.resolve()))
        copies = Copy.objects.filter(volume=volume).select_related("media_file")
        assert copies.count() == len(CARD)
        assert all(c.state == "verified" and c.hash_found == c.media_file.xxh128 for c in copies)
        (event,) = AuditEvent.objects.filter(action="copies.record", object_id=str(volume.pk))
        assert event.after["counts"] == {"verified": len(CARD)} and event.after["card"] == "A001"


def test_mhl_verify_proves_again_and_records_corrupt_and_missing_copies_with_alerts(
    offloaded: tuple[Path, Path, Path], django_capture_on_commit_callbacks: Any
) -> None:
    _, raid, shuttle = offloaded
    volume = Volume.objects.get(location=str(raid.resolve()))
    before = dict(Copy.objects.filter(volume=volume).values_list("path", "verified_at"))
    victim = raid / "A001" / "A001C001_261102_R1AB.mov"
    victim.write_bytes(b"\x00" + victim.read_bytes()[1:])
    (raid / "A001" / "A001C002_261102_R1AB.mov").unlink()
    with django_capture_on_commit_callbacks(execute=True):
        code, out = mhl_verify(raid / "A001")
    assert code == 1 and "1 copies proven, 1 corrupt, 1 missing" in out
    states = dict(Copy.objects.filter(volume=volume).values_list("path", "state"))
    assert states == {
        "A001/A001C001_261102_R1AB.mov": "corrupt",
        "A001/A001C002_261102_R1AB.mov": "missing",
        "A001/A001C003_261102_R1AB.mov": "verified",
    }
    corrupt = Copy.objects.get(volume=volume, path="A001/A001C001_261102_R1AB.mov")
    assert corrupt.hash_found == xxhash.xxh3_128(victim.read_bytes()).hexdigest()
    reproven = Copy.objects.get(volume=volume, path="A001/A001C003_261102_R1AB.mov")
    assert reproven.verified_at is not None and reproven.verified_at > before[reproven.path]
    assert Alert.objects.get(kind="copy.corrupt").details["items"] == ["A001/A001C001_261102_R1AB.mov"]
    assert Alert.objects.get(kind="copy.missing").details["items"] == ["A001/A001C002_261102_R1AB.mov"]
    event = AuditEvent.objects.filter(action="copies.record", object_id=str(volume.pk)).latest("id")
    assert event.after["counts"] == {"verified": 1, "corrupt": 1, "missing": 1}
    assert event.after["root"] == str(raid / "A001")
    # The other destination is untouched and still proves good.
    with django_capture_on_commit_callbacks(execute=True):
        assert mhl_verify(shuttle / "A001")[0] == 0
    assert Alert.objects.count() == 2


def test_offloading_again_over_a_changed_verified_copy_records_it_corrupt(
    offloaded: tuple[Path, Path, Path], django_capture_on_commit_callbacks: Any
) -> None:
    card, raid, shuttle = offloaded
    victim = raid / "A001" / "A001C003_261102_R1AB.mov"
    victim.write_bytes(b"changed on the drive")
    with django_capture_on_commit_callbacks(execute=True):
        assert offload(card, raid, shuttle) == 1  # the copy is never overwritten: not safe
    copy = Copy.objects.get(volume__location=str(raid.resolve()), path="A001/A001C003_261102_R1AB.mov")
    assert copy.state == Copy.State.CORRUPT
    alert = Alert.objects.get(kind="copy.corrupt")
    assert alert.details["items"] == ["A001/A001C003_261102_R1AB.mov"]


# --- Nothing else writes a copy's state -----------------------------------------------------------

# Modules allowed to write Copy state besides catalog/copies.py, each with the reason and the way out.
ALLOWED: set[str] = set()
COPY_FIELDS = {"state", "hash_found", "verified_at"}
WRITE_METHODS = {"update_or_create", "get_or_create", "create", "bulk_create", "bulk_update"}


def _root_name(node: ast.AST) -> str | None:
    """The name a chain like ``Copy.objects.filter(...).update`` starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def copy_state_writes(source: str) -> list[int]:
    """Line numbers where this module writes a copy's state (see the test's docstring)."""
    tree = ast.parse(source)
    lines: list[int] = []
    for scope in ast.walk(tree):
        if not isinstance(scope, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assigned: dict[str, int] = {}
        saved: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method, root = node.func.attr, _root_name(node.func.value)
                if root == "Copy" and method in WRITE_METHODS:
                    lines.append(node.lineno)
                elif root == "Copy" and method == "update" and COPY_FIELDS & {k.arg for k in node.keywords}:
                    lines.append(node.lineno)
                elif method == "save" and isinstance(node.func.value, ast.Name):
                    saved.add(node.func.value.id)
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    targets += target.elts if isinstance(target, ast.Tuple) else [target]
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in COPY_FIELDS
                    and isinstance(target.value, ast.Name)
                    and "cop" in target.value.id.lower()
                ):
                    assigned.setdefault(target.value.id, node.lineno)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = " ".join(node.value.lower().split())
                if "update catalog_copy" in text or "insert into catalog_copy" in text:
                    lines.append(node.lineno)
        lines += [line for name, line in assigned.items() if name in saved]
    return sorted(set(lines))


def source_modules() -> Iterator[tuple[str, Path]]:
    for directory, folders, names in os.walk(ROOT):
        folders[:] = [
            f
            for f in folders
            if not f.startswith(".") and f not in {"tests", "migrations", "var", "node_modules", "static"}
        ]
        for name in names:
            if name.endswith(".py"):
                path = Path(directory) / name
                yield path.relative_to(ROOT).as_posix(), path


@pytest.mark.parametrize(
    "snippet",
    [
        "Copy.objects.update_or_create(media_file=f, volume=v, defaults={})",
        "Copy.objects.filter(pk=1, state='verified').update(state='corrupt')",
        "Copy.objects.bulk_create(copies)",
        "Copy.objects.create(media_file=f, volume=v, state='verified')",
        "def f(copy):\n    copy.state, copy.last_error = 'corrupt', 'x'\n    copy.save()",
        "def f(copies):\n    for copy in copies:\n        copy.verified_at = now\n        copy.save()",
        "cursor.execute('UPDATE catalog_copy SET state = %s', ['verified'])",
    ],
)
def test_the_guard_sees_each_way_of_writing_a_copy_state(snippet: str) -> None:
    assert copy_state_writes(snippet), snippet


def test_reads_are_not_flagged() -> None:
    assert copy_state_writes("Copy.objects.filter(state='verified').exclude(state=s).count()") == []
    assert copy_state_writes("def f(copy):\n    state = copy.state\n    copy.save()") == []
    assert copy_state_writes("Copy.objects.filter(pk=1).update(last_error='x')") == []


def test_no_module_but_catalog_copies_writes_a_copy_state() -> None:
    offenders: dict[str, list[int]] = {}
    for name, path in source_modules():
        if name == "catalog/copies.py":
            continue
        lines = copy_state_writes(path.read_text())
        if lines:
            offenders[name] = lines
    unexpected = {name: lines for name, lines in offenders.items() if name not in ALLOWED}
    assert not unexpected, f"write copy states through catalog/copies.py, not here: {unexpected}"
    assert "catalog/copies.py" in dict(source_modules())
    # An allowance whose module no longer writes copy states must go.
    stale = {name for name in ALLOWED if name not in offenders and (ROOT / name).exists()}
    assert not stale, f"remove these from ALLOWED, they no longer write copy states: {stale}"
