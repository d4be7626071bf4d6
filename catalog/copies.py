"""The only code that changes a copy's state: what a check found, recorded with its proof.

A copy counts only with proof. ``copies_record`` turns what one check of one
volume found (an offload's copy and read-back, a re-hash against an ASC MHL
history, a demo seeding) into Copy rows:

- ``Found.PROVEN``: the copy was read back and its XXH3-128 equals the file's
  catalog hash. Anything else is refused with CopyProofError before a row is
  written. Creates the copy or re-proves an existing one (``verified_at`` now).
- ``Found.FAILED``: the copy could not be made or read back. A copy that was
  verified keeps ``verified_at`` (when it was last proven good) but no longer
  counts.
- ``Found.CONFLICT``: different bytes sit where the copy should be. A copy the
  catalog held verified there has changed, so it is corrupt; otherwise the copy
  attempt failed.
- ``Found.CORRUPT`` / ``Found.MISSING``: a check read different bytes, or no
  file at all.
- ``Found.COPYING``: the copy is being made; it counts for nothing yet.

``copy_condemn_if_verified`` is the conditional form a restore needs: mark one
copy corrupt or missing only if it is still verified, and say whether it did.

Both write one audit entry per call (per volume for a batch, summing up counts
and paths, so an offload of thousands of files does not write thousands of
entries) in the caller's transaction, or their own. Copies found corrupt or
missing are announced after the commit through the ``copy_problem_found``
signal, one send per volume and problem: catalog cannot import alerts, so the
alerts app connects its receiver in ``AlertsConfig.ready``. Receivers run after
the commit, each on its own (``send_robust``), so a fault in one never undoes
the copy states nor silences the others.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from catalog.audit import audit_record
from catalog.models import Copy, MediaFile, Volume
from catalog.permissions import AnyUser

# Sent after the commit with keyword arguments project, volume, state ("corrupt"
# or "missing"), paths (copy paths on the volume, at most ALERT_PATHS), body and link.
copy_problem_found = Signal()

# Sent after the commit, once per copies_record call that proved copies, with
# keyword arguments project, volume and media_file_ids (the files proven on
# it). Protection connects it to plan the replication the policy still needs.
copies_proven = Signal()

# Paths listed in one audit entry (per state) and in one alert: the counts are always complete.
AUDIT_PATHS = 200
ALERT_PATHS = 100

PROBLEM_STATES = (Copy.State.CORRUPT, Copy.State.MISSING)


class CopyProofError(ValueError):
    """A copy was to be recorded verified without a hash equal to its file's catalog XXH3-128."""


class Found(enum.Enum):
    PROVEN = "proven"
    FAILED = "failed"
    CONFLICT = "conflict"
    CORRUPT = "corrupt"
    MISSING = "missing"
    COPYING = "copying"


@dataclass(frozen=True)
class CopyCheck:
    """What one check found for one file on the volume being recorded.

    ``path`` is the copy's path relative to the volume root; ``hash_found`` the
    XXH3-128 the check read ("" when it read nothing); ``error`` what went wrong;
    ``checked_at`` when the check ran (None: now), which a proof records as
    ``verified_at``.
    """

    media_file: MediaFile
    path: str
    found: Found
    hash_found: str = ""
    error: str = ""
    checked_at: datetime | None = None


@dataclass(frozen=True)
class CopiesRecorded:
    """The outcome of one ``copies_record`` call.

    ``states`` maps each media file id to the copy's state now; ``counts`` the
    number of copies per state; ``problems`` the corrupt and missing paths.
    """

    states: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def _check_proofs(checks: Sequence[CopyCheck]) -> None:
    for check in checks:
        if check.found is Found.PROVEN and (
            not check.hash_found or check.hash_found != check.media_file.xxh128
        ):
            raise CopyProofError(
                f"{check.path}: the hash found ({check.hash_found or 'none'}) is not the catalog's "
                f"XXH3-128 ({check.media_file.xxh128}); a copy counts only with proof"
            )


def _new_state(found: Found, *, was: str | None) -> str:
    if found is Found.PROVEN:
        return Copy.State.VERIFIED
    if found is Found.CONFLICT:
        return Copy.State.CORRUPT if was == Copy.State.VERIFIED else Copy.State.FAILED
    return {
        Found.FAILED: Copy.State.FAILED,
        Found.CORRUPT: Copy.State.CORRUPT,
        Found.MISSING: Copy.State.MISSING,
        Found.COPYING: Copy.State.COPYING,
    }[found]


def _announce(*, volume: Volume, state: str, paths: Sequence[str], body: str, link: str) -> None:
    """Send ``copy_problem_found`` once the transaction commits (never if it rolls back)."""
    project, listed = volume.project, list(paths[:ALERT_PATHS])
    transaction.on_commit(
        lambda: copy_problem_found.send_robust(
            sender=Copy, project=project, volume=volume, state=state, paths=listed, body=body, link=link
        ),
        robust=True,
    )


def copies_record(
    *,
    actor: AnyUser | None,
    volume: Volume,
    checks: Sequence[CopyCheck],
    source: str,
    context: Mapping[str, Any] | None = None,
    link: str = "",
) -> CopiesRecorded:
    """Record what one check of ``volume`` found, one CopyCheck per file (see the module docstring).

    ``source`` says which check it was, in words ("Offload 12 of card A001");
    it opens the alert's text and goes into the audit entry with ``context``.
    ``link`` is where the alert points. Raises CopyProofError, writing
    nothing, if a PROVEN check lacks its proof. Runs in the caller's
    transaction when there is one, else in its own; writes one audit entry
    (``copies.record`` on the volume) and, after the commit, announces the
    corrupt and missing copies, one ``copy_problem_found`` per state.
    """
    _check_proofs(checks)
    now = timezone.now()
    with transaction.atomic():
        # Lock the existing rows: the new state of a conflicting copy depends on the old one.
        existing: dict[int, tuple[str, datetime | None]] = {
            media_file_id: (state, verified_at)
            for media_file_id, state, verified_at in Copy.objects.select_for_update()
            .filter(volume=volume, media_file__in=[c.media_file.pk for c in checks])
            .values_list("media_file_id", "state", "verified_at")
        }
        rows: dict[int, Copy] = {}
        before: dict[str, int] = defaultdict(int)
        for check in checks:
            was, last_proven = existing.get(check.media_file.pk, (None, None))
            before[was or "new"] += 1
            state = _new_state(check.found, was=was)
            rows[check.media_file.pk] = Copy(
                media_file=check.media_file,
                volume=volume,
                path=check.path,
                state=state,
                hash_found=check.hash_found,
                verified_at=(check.checked_at or now) if state == Copy.State.VERIFIED else last_proven,
                last_error="" if state == Copy.State.VERIFIED else check.error[:2000],
            )
        Copy.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["media_file", "volume"],
            update_fields=["path", "state", "hash_found", "verified_at", "last_error", "updated_at"],
        )
        counts: dict[str, int] = defaultdict(int)
        paths: dict[str, list[str]] = defaultdict(list)
        for copy in rows.values():
            counts[copy.state] += 1
            paths[copy.state].append(copy.path)
        audit_record(
            actor=actor,
            action="copies.record",
            obj=volume,
            project=volume.project,
            after={
                "source": source,
                **(context or {}),
                "before": dict(before),
                "counts": dict(counts),
                "paths": {state: listed[:AUDIT_PATHS] for state, listed in paths.items()},
            },
        )
        problems = {str(state): paths[state] for state in PROBLEM_STATES if paths.get(state)}
        for state, listed in problems.items():
            _announce(
                volume=volume,
                state=state,
                paths=listed,
                body=f"{source} found {len(listed)} {state} copies on {volume.label} ({volume.location}). "
                "Make new copies to restore the protection level, and check the volume.",
                link=link,
            )
        proven = [pk for pk, copy in rows.items() if copy.state == Copy.State.VERIFIED]
        if proven:
            project = volume.project
            transaction.on_commit(
                lambda: copies_proven.send_robust(
                    sender=Copy, project=project, volume=volume, media_file_ids=proven
                ),
                robust=True,
            )
    return CopiesRecorded(
        states={pk: copy.state for pk, copy in rows.items()}, counts=dict(counts), problems=problems
    )


def copy_condemn_if_verified(
    *,
    actor: AnyUser | None,
    copy: Copy,
    state: str,
    error: str,
    hash_found: str = "",
    source: str,
    context: Mapping[str, Any] | None = None,
    link: str = "",
) -> bool:
    """Mark ``copy`` corrupt or missing, but only if it is still verified. Returns whether it changed.

    The condition is in the UPDATE itself, so of two workers condemning the
    same copy exactly one gets True, writes the audit entry (``copy.<state>``
    on the copy) and announces the problem after the commit; the other, or a
    copy already not verified, gets False and leaves no trace. ``verified_at``
    is kept: it is when the copy was last proven good.
    """
    if state not in PROBLEM_STATES:
        raise ValueError(f"a copy is condemned corrupt or missing, not {state}")
    with transaction.atomic():
        changed = Copy.objects.filter(pk=copy.pk, state=Copy.State.VERIFIED).update(
            state=state,
            last_error=error[:2000],
            hash_found=hash_found if state == Copy.State.CORRUPT else "",
            updated_at=timezone.now(),
        )
        if not changed:
            return False
        volume = Volume.objects.select_related("project").get(pk=copy.volume_id)
        audit_record(
            actor=actor,
            action=f"copy.{state}",
            obj=copy,
            project=volume.project,
            before={"state": Copy.State.VERIFIED},
            after={
                "state": state,
                "message": error,
                "found": hash_found,
                "source": source,
                **(context or {}),
            },
        )
        _announce(
            volume=volume,
            state=state,
            paths=[copy.path],
            body=f"{source} found the copy {volume.location}/{copy.path} on {volume.label} {state}: {error}\n"
            "Make a new copy to restore the protection level.",
            link=link,
        )
    return True
