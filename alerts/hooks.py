"""Catalog-level events that raise alerts, as one call each for the code where they happen.

- ``copy_problem``: copies of one volume were found corrupt or missing.

Alerts about a feature's own events are built in that feature
(``ingest/alerting.py``, ``restore/alerting.py``) on top of
``alerts.services`` and this module: alerts never imports a feature.
"""

from __future__ import annotations

from alerts.models import Severity
from alerts.services import Raised, alert_raise
from catalog.models import Project, Volume


def copy_problem(
    *, project: Project, volume: Volume, state: str, paths: list[str], body: str, link: str
) -> Raised:
    """One alert per volume and kind of problem (corrupt, missing), listing the files concerned."""
    return alert_raise(
        project=project,
        key=f"copy.{state}:volume:{volume.pk}",
        kind=f"copy.{state}",
        severity=Severity.CRITICAL,
        title=f"{project.code}: {state} copies on {volume.label}",
        body=body,
        link=link,
        items=paths,
        details={"volume": volume.label},
    )
