"""Repair: re-make the corrupt and missing copies an audit found from good copies, through the copy engine."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts.services import alert_resolve_key
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record, copy_condemn_if_verified
from catalog.models import Copy, Volume
from copyengine import filecopy
from copyengine.backends import CardReader, Destination, DestinationError, LocalDestination
from fixity.models import FixityRun
from fixity.services.audits import _is_s3, _link, _mark_unreachable, _open, repairable
from fixity.storage import QUARANTINE_MARK, S3_SCHEME, Unreachable


def _place(volume: Volume) -> Destination:
    if _is_s3(volume):
        import boto3

        from copyengine.backends.s3 import S3Destination

        bucket, _, prefix = volume.location.removeprefix(S3_SCHEME).partition("/")
        return S3Destination(bucket, prefix=prefix, client=boto3.client("s3"), name=volume.label)
    return LocalDestination(volume.location, name=volume.label)


def _split(path: str) -> tuple[str, str]:
    label, _, relpath = path.partition("/")
    return (label, relpath) if relpath else ("", label)


def _quarantine(final: Path) -> Path:
    """Move a corrupt file aside under a quarantine name beside it, never replacing anything."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    target = final.with_name(f"{final.name}{QUARANTINE_MARK}{stamp}")
    os.link(final, target)  # fails if the name is taken: nothing is ever replaced
    final.unlink()
    return target


def fixity_repair_run(*, run_id: int) -> int:
    """Re-make the corrupt and missing copies of the run's volume from good copies; return how many.

    Only for repairable volumes (see ``repairable``) mounted on this host. A
    corrupt file is first moved aside under a quarantine name
    (``<name>.reelvault-quarantine-<time>``) and kept for an admin; then the
    copy engine copies and reads back a verified copy from another volume (this
    host's folders first, then buckets), and ``copies_record`` proves it.
    Sources found bad on the way are condemned through catalog.copies.
    """
    run = FixityRun.objects.select_related("volume__project").get(pk=run_id)
    volume = run.volume
    if not repairable(volume):
        return 0
    try:
        store = _open(volume)
        store.close()
    except Unreachable as exc:
        _mark_unreachable(volume, str(exc))
        return 0
    here = settings.REELVAULT_HOSTNAME
    repaired = 0
    bad = Copy.objects.filter(
        volume=volume, state__in=[Copy.State.CORRUPT, Copy.State.MISSING]
    ).select_related("media_file")
    for copy in bad:
        media_file = copy.media_file
        sources = [
            source
            for source in Copy.objects.filter(media_file=media_file, state=Copy.State.VERIFIED)
            .exclude(volume=volume)
            .select_related("volume")
            .order_by("volume__tier", "pk")
            if _is_s3(source.volume) or source.volume.host in ("", here)
        ]
        sources.sort(key=lambda s: _is_s3(s.volume))
        final = Path(volume.location).joinpath(*copy.path.split("/"))
        label, relpath = _split(copy.path)
        for source in sources:
            quarantined = None
            try:
                if final.exists():
                    quarantined = _quarantine(final)
                src_label, src_relpath = _split(source.path)
                reader: CardReader = _place(source.volume).open_reader(src_label)
                with reader, _place(volume).open_writer(label) as writer:
                    mtime = media_file.mtime
                    filecopy.copy_verified(
                        reader=reader,
                        path=src_relpath,
                        writer=writer,
                        relpath=relpath,
                        expected_xxh128=media_file.xxh128,
                        size=media_file.size,
                        mtime_ns=int(mtime.timestamp() * 1_000_000_000) if mtime else None,
                    )
            except (filecopy.SourceCorruptError, filecopy.SourceMissingError) as exc:
                state = (
                    Copy.State.MISSING if isinstance(exc, filecopy.SourceMissingError) else Copy.State.CORRUPT
                )
                copy_condemn_if_verified(
                    actor=None,
                    copy=source,
                    state=state,
                    error=str(exc),
                    hash_found=getattr(exc, "found", ""),
                    source=f"Fixity repair after audit {run.pk}",
                    context={"fixity_run": run.pk},
                    link=_link(run),
                )
                continue
            except (filecopy.CopyFailed, DestinationError, OSError):
                continue
            with transaction.atomic():
                copies_record(
                    actor=None,
                    volume=volume,
                    checks=[
                        CopyCheck(
                            media_file=media_file,
                            path=copy.path,
                            found=Found.PROVEN,
                            hash_found=media_file.xxh128,
                        )
                    ],
                    source=f"Fixity repair after audit {run.pk}",
                    context={"fixity_run": run.pk, "from": source.volume.label},
                    link=_link(run),
                )
                audit_record(
                    actor=None,
                    action="fixity.repair",
                    obj=copy,
                    project=volume.project,
                    before={"state": copy.state},
                    after={
                        "state": Copy.State.VERIFIED,
                        "from": f"{source.volume.label}:{source.path}",
                        "quarantined": str(quarantined.name) if quarantined else "",
                        "fixity_run": run.pk,
                    },
                )
            repaired += 1
            break
    if repaired:
        FixityRun.objects.filter(pk=run.pk).update(repaired=F("repaired") + repaired)
        # The problem went away: its alert resolves itself, as other alerts do.
        for state in (Copy.State.CORRUPT, Copy.State.MISSING):
            if not Copy.objects.filter(volume=volume, state=state).exists():
                alert_resolve_key(
                    key=f"copy.{state}:volume:{volume.pk}",
                    resolution=f"Fixity repair after audit {run.pk} re-made the {state} copies "
                    "from good copies.",
                )
    return repaired
