import logging
from typing import Any

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class ProtectionConfig(AppConfig):
    name = "protection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Ingest may not import protection, and catalog imports no feature:
        # catalog.copies announces proven copies after the commit and we plan
        # the replication the policy still needs here, without a person.
        from catalog.copies import copies_proven

        copies_proven.connect(_copies_proven, dispatch_uid="protection.copies_proven")


def _copies_proven(sender: Any, **kwargs: Any) -> None:
    from protection.services import replication_plan

    try:
        replication_plan(
            actor=None,
            project=kwargs["project"],
            media_file_ids=list(kwargs["media_file_ids"]),
            trigger="automatic",
        )
    except Exception:
        # send_robust keeps the error from the sender (the copies stay recorded); say it here,
        # the on-demand planning and the next proof of these files plan them again.
        logger.exception("planning the replication of %d proven files failed", len(kwargs["media_file_ids"]))
        raise
