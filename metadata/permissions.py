"""Access gates for metadata objects (same rules as catalog/permissions.py: 404 outside, 403 too weak)."""

from __future__ import annotations

from django.http import Http404

from catalog.permissions import AnyUser, Cap, gate
from metadata.models import AleUpload, ReviewItem


def access_review_item(user: AnyUser, item_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> ReviewItem:
    """The review item; with ``refusal`` (the write attempted), a member's 403 is audited."""
    item = ReviewItem.objects.select_related("project", "clip").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such review item.")
    gate(user, item.project, need, refusal=refusal, obj=item)
    return item


def access_ale_upload(
    user: AnyUser, upload_id: int, *, need: Cap = Cap.EDIT_METADATA, refusal: str = ""
) -> AleUpload:
    """An uploaded ALE awaiting apply: only its uploader sees it (others get 404)."""
    upload = AleUpload.objects.select_related("project").filter(pk=upload_id).first()
    if upload is None or upload.uploaded_by_id != user.pk:
        raise Http404("No such upload.")
    gate(user, upload.project, need, refusal=refusal, obj=upload)
    return upload
