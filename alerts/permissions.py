"""Who sees and who handles alerts.

Every member of a project sees its alerts (they are about the safety of its
footage); members with ``Cap.HANDLE_ALERTS`` (admins, producers and DITs), who
are told about them, also acknowledge and resolve them. As elsewhere, an alert
of a project the user is not a member of is "not found" (404).
"""

from __future__ import annotations

from django.http import Http404

from alerts.models import Alert
from catalog.permissions import AnyUser, Cap, gate, refuse, user_can


def can_handle_alerts(user: AnyUser, project_id: int) -> bool:
    return user_can(user, project_id, Cap.HANDLE_ALERTS)


def can_acknowledge_alerts(user: AnyUser, project_id: int) -> bool:
    return user_can(user, project_id, Cap.ACKNOWLEDGE_ALERTS)


def access_alert(user: AnyUser, alert_id: int, *, handle: str = "") -> Alert:
    """The alert if the user may see it; with ``handle`` (the action), also act on it.

    A member whose role may not handle alerts is refused (403), which the audit
    log records as ``alert.<handle>_refused``.
    """
    alert = (
        Alert.objects.select_related("project", "acknowledged_by", "resolved_by").filter(pk=alert_id).first()
    )
    if alert is None:
        raise Http404("No such alert.")
    gate(user, alert.project_id, Cap.VIEW)
    # IT support may take an alert in hand (acknowledge) but not close it.
    need = Cap.ACKNOWLEDGE_ALERTS if handle == "acknowledge" else Cap.HANDLE_ALERTS
    if handle and not user_can(user, alert.project_id, need):
        refuse(
            actor=user,
            action=f"alert.{handle}_refused",
            project=alert.project,
            obj=alert,
            reason=f"your role may not {handle} the project's alerts",
        )
    return alert
