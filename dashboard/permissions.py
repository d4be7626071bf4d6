"""Gates of the producer's view.

- Every member of a project sees its dashboard, days, trends and reports, and
  may subscribe themself to the daily report.
- Signing off a day and reopening it need ``Cap.SIGN_OFF`` (producers and
  admins); a weaker member's attempt is refused (403) and audited by the service.
- Importing camera reports (expected cards) needs ``Cap.INGEST`` or
  ``Cap.SIGN_OFF``; generating and emailing a report on demand needs
  ``Cap.RUN_REPORTS``, held by the people who run the day: admins, producers and DITs.
- Outsiders get 404 everywhere, as in the rest of Reelvault.
"""

from __future__ import annotations

from django.http import Http404

from catalog.models import Project, ShootDay
from catalog.permissions import AnyUser, Cap, access_project, user_can


def access_day(user: AnyUser, code: str, number: int, *, unit: str | None = None) -> ShootDay:
    """The shoot day ``number`` of the project (of ``unit``; else the only one, or the main unit's)."""
    project = access_project(user, code, need=Cap.VIEW)
    days = list(ShootDay.objects.filter(project=project, number=number).select_related("project"))
    if unit:
        days = [day for day in days if day.unit == unit]
    if not days:
        raise Http404("No such shoot day.")
    if len(days) == 1:
        return days[0]
    return next((day for day in days if day.unit == "main"), days[0])


def can_sign_off(user: AnyUser, project: Project | int) -> bool:
    return user_can(user, project, Cap.SIGN_OFF)


def can_import_camera_reports(user: AnyUser, project: Project | int) -> bool:
    return user_can(user, project, Cap.INGEST) or user_can(user, project, Cap.SIGN_OFF)


def can_run_reports(user: AnyUser, project: Project | int) -> bool:
    return user_can(user, project, Cap.RUN_REPORTS)
