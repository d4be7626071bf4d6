"""One active offload job per card: a partial unique index on queued and running jobs.

Before the index, concurrent requests could create several active jobs for
one card; all but the newest of each card are marked failed first, so the
index can be built on an existing catalog.
"""

from typing import Any

from django.db import migrations, models
from django.utils import timezone

ACTIVE = ["queued", "running"]


def fail_duplicate_active_jobs(apps: Any, schema_editor: Any) -> None:
    OffloadJob = apps.get_model("ingest", "OffloadJob")
    seen: set[int] = set()
    for job in OffloadJob.objects.filter(state__in=ACTIVE).order_by("card_id", "-created_at", "-id"):
        if job.card_id in seen:
            OffloadJob.objects.filter(pk=job.pk).update(
                state="failed",
                finished_at=timezone.now(),
                error="a duplicate of a newer active offload of the same card; stopped by migration 0004",
            )
        seen.add(job.card_id)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_moved_models"),
        ("ingest", "0004_offloadjob_health_confirmations"),
    ]

    operations = [
        migrations.RunPython(fail_duplicate_active_jobs, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="offloadjob",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["queued", "running"])),
                fields=("card",),
                name="one_active_offload_per_card",
            ),
        ),
    ]
