"""Beat's audit anchor: the chain's head appended to a file the database cannot rewrite."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from catalog.audit import audit_anchor_append
from core.jobs import JOB_OPTIONS


@shared_task(name="catalog.audit_anchor", **JOB_OPTIONS)
def audit_anchor_task() -> None:
    """Appending twice is harmless: two anchors of the same head."""
    if settings.REELVAULT_AUDIT_ANCHOR_PATH is not None:
        audit_anchor_append(path=settings.REELVAULT_AUDIT_ANCHOR_PATH)
