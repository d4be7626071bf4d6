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
        from catalog.policy import planned_copies_register

        copies_proven.connect(_copies_proven, dispatch_uid="protection.copies_proven")
        # Files waiting in a replication job show as "pending" wherever tiers are shown
        # (clip, card and day pages, the producer's day rows), not only once their copy begins.
        planned_copies_register(PLANNED_REPLICATIONS)


#: The files waiting in a replication job that has not ended (ReplicationJob.ACTIVE), per destination.
PLANNED_REPLICATIONS = """
SELECT i.media_file_id, j.destination_id AS volume_id
  FROM protection_replicationitem i
  JOIN protection_replicationjob j ON j.id = i.job_id
 WHERE i.state = 'pending' AND j.state IN ('queued', 'running', 'window', 'paused')"""


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
