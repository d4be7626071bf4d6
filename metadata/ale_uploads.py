"""ALE/CSV files uploaded on the import page, kept between the preview and the apply.

The page flow is upload -> preview -> apply. The file is kept in the database
(not on this web server's disk, so any web process can apply it) until it is
applied; its bytes are then dropped and the row stays as a record of who
imported what. Applying re-plans and refuses a plan that differs from the one
previewed (``digest``), so what is applied is exactly what the user saw.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

from catalog.display import when_text
from catalog.models import Project
from catalog.permissions import AnyUser
from formats.ale import DEFAULT_MAX_BYTES
from metadata.ale_import import ImportPlan, ale_import_execute, ale_import_preview
from metadata.models import AleUpload
from metadata.review import revalidate_after_import


class UploadTooLarge(ValueError):
    """The file is over the ALE size limit; it was not stored."""


@transaction.atomic(durable=True)
def ale_upload_create(
    *, actor: AnyUser, project: Project, filename: str, data: bytes, ignore_unknown_columns: bool
) -> AleUpload:
    """Keep an uploaded file for preview. Raises UploadTooLarge over the 50 MB limit (nothing kept)."""
    if len(data) > DEFAULT_MAX_BYTES:
        raise UploadTooLarge(
            f"{filename}: file is too large (the limit is {DEFAULT_MAX_BYTES / 1e6:.1f} MB); "
            "check that this is really an ALE/CSV log"
        )
    upload = AleUpload(
        project=project,
        uploaded_by=actor,  # type: ignore[misc]  # a logged-in user: the pages require it
        filename=filename[:255],
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        ignore_unknown_columns=ignore_unknown_columns,
    )
    upload.full_clean()
    upload.save()
    return upload


def ale_upload_preview(*, upload: AleUpload) -> ImportPlan:
    """What applying the upload would change now."""
    return ale_import_preview(
        project=upload.project,
        data=bytes(upload.data),
        filename=upload.filename,
        ignore_unknown_columns=upload.ignore_unknown_columns,
    )


@transaction.atomic(durable=True)
def ale_upload_apply(*, actor: AnyUser, upload: AleUpload, expect_digest: str) -> ImportPlan:
    """Apply the previewed upload (all or nothing, audited), re-validate the changed clips, drop the bytes.

    Raises:
        ALEImportError: errors in the file, or the plan is no longer the one previewed.
        ValueError: the upload was already applied.
    """
    upload = AleUpload.objects.select_for_update(of=("self",)).select_related("project").get(pk=upload.pk)
    if upload.applied_at is not None:
        raise ValueError(f"{upload.filename} was already applied at {when_text(upload.applied_at)}")
    plan = ale_import_execute(
        actor=actor,
        project=upload.project,
        data=bytes(upload.data),
        filename=upload.filename,
        ignore_unknown_columns=upload.ignore_unknown_columns,
        expect_digest=expect_digest,
        after_apply=revalidate_after_import(actor),
    )
    upload.applied_at = timezone.now()
    upload.data = b""
    upload.save(update_fields=["applied_at", "data"])
    return plan
