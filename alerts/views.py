"""The notifications page (a user's own) and the alerts pages (of their projects)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alerts import selectors, services
from alerts.models import Alert
from alerts.permissions import access_alert, can_acknowledge_alerts, can_handle_alerts


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notification_list(user=request.user)
    page = Paginator(notifications, 50).get_page(request.GET.get("page"))
    context = {"page": page, "unread": selectors.unread_count(user=request.user)}
    return render(request, "alerts/notification_list.html", context)


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
    services.notifications_mark_read(user=request.user, notification_ids=ids or None)
    return redirect("notification-list")


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Each user chooses for themself: in the app (the bell), by email, both or neither."""
    pref = selectors.notification_preference(user=request.user)
    if request.method == "POST":
        services.notification_preference_set(
            user=request.user,
            in_app=request.POST.get("in_app") == "on",
            email=request.POST.get("email") == "on",
        )
        messages.success(request, "Saved: new notifications follow your choice.")
        return redirect("notification-preferences")
    address = getattr(request.user, "email", "") or ""
    return render(request, "alerts/notification_preferences.html", {"pref": pref, "address": address})


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "active")
    alerts = selectors.alert_list(user=request.user)
    if state == "active":
        alerts = alerts.exclude(state=Alert.State.RESOLVED)
    elif state in Alert.State.values:
        alerts = alerts.filter(state=state)
    if request.GET.get("project"):
        alerts = alerts.filter(project__code=request.GET["project"].upper())
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    states = [("active", "Open or acknowledged"), *Alert.State.choices, ("all", "All")]
    return render(request, "alerts/alert_list.html", {"page": page, "state": state, "states": states})


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access_alert(request.user, alert_id)
    context = {
        "alert": alert,
        "can_handle": can_handle_alerts(request.user, alert.project_id),
        "can_acknowledge": can_acknowledge_alerts(request.user, alert.project_id),
        "deliveries": alert.deliveries.all()[:50],
    }
    return render(request, "alerts/alert_detail.html", context)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access_alert(request.user, alert_id, handle="acknowledge")
    try:
        services.alert_acknowledge(actor=request.user, alert=alert, note=request.POST.get("note", "").strip())
    except services.AlertError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Acknowledged: it will not be escalated.")
    return redirect("alert-detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access_alert(request.user, alert_id, handle="resolve")
    try:
        services.alert_resolve(actor=request.user, alert=alert, resolution=request.POST.get("resolution", ""))
    except services.AlertError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Resolved.")
    return redirect("alert-detail", alert_id=alert.pk)
