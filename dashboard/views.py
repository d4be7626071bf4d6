"""The producer's pages: project overview, a day's status and sign-off, trends, daily reports.

The overview and the day page refresh their figures live (htmx polls a
partial every REELVAULT_DASHBOARD_REFRESH_SECONDS) while offloads run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from catalog.models import Project, ShootDay
from catalog.permissions import Cap, access_project, projects_for, role_of, user_can
from custody import selectors as custody_selectors
from dashboard import charts, selectors, services, waiting
from dashboard.models import DailyReport
from dashboard.permissions import access_day, can_run_reports, can_sign_off
from formats.units import byte_unit, format_bytes_in
from recovery.selectors import incident_counts
from restore import selectors as restore_selectors
from restore.selectors import scenario_trends


def _refresh() -> int:
    return max(1, int(settings.REELVAULT_DASHBOARD_REFRESH_SECONDS))


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    projects = list(projects_for(request.user, Cap.VIEW))
    if len(projects) == 1:
        return redirect("project-dashboard", code=projects[0].code)
    alert_counts = selectors.alert_counts_by_project(project_ids=[p.pk for p in projects])
    rows = [
        (project, counts, alert_counts.get(project.pk, 0))
        for project, counts in selectors.projects_overview(projects=projects)
    ]
    return render(request, "dashboard/home.html", {"rows": rows})


def _overview_context(request: HttpRequest, project: Project) -> dict[str, Any]:
    return {
        "project": project,
        "days": selectors.project_days_figures(project=project),
        "alerts": selectors.project_open_alerts(project=project),
        "undated": selectors.offloads_without_day(project=project),
        "policy": selectors.policy_text(project),
        "refresh": _refresh(),
    }


@login_required
def project_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = _overview_context(request, project)
    context["role"] = role_of(request.user, project)
    context["volumes"] = custody_selectors.volumes_capacity(project=project)
    context["queues"] = _queues_of(project)
    context["can_sign_off"] = can_sign_off(request.user, project)
    return render(request, "dashboard/project.html", context)


def _queues_of(project: Project) -> list[dict[str, Any]] | None:
    """Each host queue with its workers and this project's jobs waiting on it; None: broker down."""
    served = waiting.queues_served(timeout=0.5)
    if served is None:
        return None
    jobs = [job for job in waiting.waiting_jobs() if job.project.pk == project.pk]
    return [
        {
            "host": queue.name.removeprefix("host."),
            "workers": queue.workers,
            "jobs": queue.waiting,
        }
        for queue in waiting.host_queues(served=served, jobs=jobs)
        if queue.name.startswith("host.")
    ]


@login_required
@require_POST
def project_restore_rule(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    wait = services.project_restore_rule_set(
        actor=request.user, project=project, wait=request.POST.get("wait") == "1"
    )
    messages.success(
        request,
        "Editorial restores of a day's footage now wait until the day is signed off."
        if wait
        else "Editorial restores no longer wait for the day's sign-off.",
    )
    return redirect("project-dashboard", code=project.code)


@login_required
def project_dashboard_live(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    return render(request, "dashboard/_overview_live.html", _overview_context(request, project))


def _unit(request: HttpRequest) -> str | None:
    return request.GET.get("unit") or request.POST.get("unit") or None


def _day_context(request: HttpRequest, day: ShootDay) -> dict[str, Any]:
    detail = selectors.day_detail(day=day)
    return {
        "project": day.project,
        "day": day,
        "detail": detail,
        "released": selectors.released_cards(history=detail.history),
        "waiting_restores": list(restore_selectors.restores_waiting_for_day(day=day)),
        "can_see_restores": user_can(request.user, day.project, Cap.REQUEST_RESTORE),
        "can_sign_off": can_sign_off(request.user, day.project),
        "refresh": _refresh(),
        "policy": selectors.policy_text(day.project),
    }


@login_required
def day_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    day = access_day(request.user, code, number, unit=_unit(request))
    return render(request, "dashboard/day.html", _day_context(request, day))


@login_required
def day_live(request: HttpRequest, code: str, number: int) -> HttpResponse:
    day = access_day(request.user, code, number, unit=_unit(request))
    return render(request, "dashboard/_day_live.html", _day_context(request, day))


def _back_to_day(day: ShootDay) -> HttpResponse:
    response = redirect("day-detail", code=day.project.code, number=day.number)
    response["Location"] += f"?unit={day.unit}"
    return response


@login_required
@require_POST
def day_sign_off(request: HttpRequest, code: str, number: int) -> HttpResponse:
    day = access_day(request.user, code, number, unit=_unit(request))
    try:
        services.day_sign_off(actor=request.user, day=day, comment=request.POST.get("comment", "").strip())
    except services.SignOffConflict as exc:
        messages.error(request, f"Sign-off refused: {'; '.join(exc.reasons)}.")
    else:
        messages.success(request, f"{day} signed off: its cards are released for reformat.")
    return _back_to_day(day)


@login_required
@require_POST
def day_reopen(request: HttpRequest, code: str, number: int) -> HttpResponse:
    day = access_day(request.user, code, number, unit=_unit(request))
    try:
        services.day_reopen(actor=request.user, day=day, reason=request.POST.get("reason", ""))
    except (services.SignOffConflict, services.DashboardError) as exc:
        messages.error(request, f"Not reopened: {exc}.")
    else:
        messages.success(request, f"{day} reopened: its cards are no longer released.")
    return _back_to_day(day)


def _size_axis(values: list[float]) -> Callable[[float], str]:
    """Sizes of one chart in one unit, scaled to its largest value (KB … TB), as its axis reads."""
    unit = byte_unit(charts.nice_max(max(values, default=0.0)))
    return lambda v: format_bytes_in(v, unit)


@login_required
def project_trends(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    data = selectors.trends(project=project)

    def label(f: selectors.DayFigures) -> str:
        return str(f.day.number) if f.day.unit == "main" else f"{f.day.number}{f.day.unit[:1]}"

    rate = [
        charts.Point(label(f), None if f.transfer_success_rate is None else 100 * f.transfer_success_rate)
        for f in data.days
    ]
    incidents = incident_counts(project=project)
    scenarios = [t for t in scenario_trends(project=project) if t.drills]
    context = {
        "project": project,
        "trends": data,
        "charts": [
            (
                "Footage per shoot day",
                charts.chart(
                    title="Footage per shoot day",
                    points=[charts.Point(label(f), f.bytes) for f in data.days],
                    fmt=_size_axis([f.bytes for f in data.days]),
                ),
            ),
            (
                "Transfer success rate",
                charts.chart(
                    title="Offloads completed out of offloads finished, per shoot day (%)",
                    points=rate,
                    kind="line",
                    fmt=lambda v: f"{v:.0f}%",
                    max_value=100,
                    colour="#1e7b34",
                ),
            ),
            (
                "Verification failures",
                charts.chart(
                    title="Copies corrupt, missing or failed, per shoot day",
                    points=[charts.Point(label(f), f.verification_failures) for f in data.days],
                    colour="#b3261e",
                ),
            ),
            (
                "Average time to restore (drills)",
                charts.chart(
                    title="Average time to restore in passed drills, per date (seconds)",
                    points=[charts.Point(on.strftime("%m-%d"), seconds) for on, seconds in data.drills],
                    kind="line",
                    fmt=lambda v: f"{v:.0f} s",
                    colour="#9a6700",
                ),
            ),
            (
                "Drills passed, per scenario",
                charts.chart(
                    title="Restore drills that passed, per scenario (% of finished drills)",
                    points=[
                        charts.Point(t.label.split(" (")[0], 100 * t.passed / t.drills) for t in scenarios
                    ],
                    fmt=lambda v: f"{v:.0f}%",
                    max_value=100,
                    colour="#1e7b34",
                ),
            ),
            (
                "Time to restore, per scenario",
                charts.chart(
                    title="Median time to restore in passed drills, per scenario (seconds)",
                    points=[charts.Point(t.label.split(" (")[0], t.median_seconds) for t in scenarios],
                    fmt=lambda v: f"{v:.0f} s",
                    colour="#9a6700",
                ),
            ),
            (
                "Review-queue backlog",
                charts.chart(
                    title="Open review items at the end of each date",
                    points=[charts.Point(on.strftime("%m-%d"), n) for on, n in data.backlog],
                    kind="line",
                    colour="#5b6270",
                ),
            ),
            (
                "Incidents per month",
                charts.chart(
                    title="Incidents opened per month",
                    points=[charts.Point(month, n) for month, n in incidents.per_month],
                    colour="#b3261e",
                ),
            ),
            (
                "Incidents per cause",
                charts.chart(
                    title="Incidents per cause",
                    points=[charts.Point(cause, n) for cause, n in incidents.per_cause],
                    colour="#9a6700",
                ),
            ),
        ],
    }
    return render(request, "dashboard/trends.html", context)


@login_required
def report_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "reports": selectors.report_list(project=project)[:100],
        "subscribed": selectors.is_subscribed(project=project, user_id=int(request.user.pk or 0)),
        "can_run": can_run_reports(request.user, project),
        "report_time": settings.REELVAULT_DAILY_REPORT_TIME,
    }
    return render(request, "dashboard/report_list.html", context)


@login_required
@require_POST
def report_generate(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    if not can_run_reports(request.user, project):
        raise PermissionDenied("Only admins, producers and DITs generate reports on demand.")
    try:
        report_date = date.fromisoformat(request.POST.get("date") or selectors.today().isoformat())
    except ValueError:
        messages.error(request, "Give the date as YYYY-MM-DD.")
        return redirect("report-list", code=project.code)
    email = request.POST.get("email") == "1"
    report = services.daily_report_generate(
        project=project, report_date=report_date, actor=request.user, email=email
    )
    messages.success(
        request, f"Report of {report.report_date} generated" + (" and emailed." if email else ".")
    )
    return redirect("report-html", code=project.code, report_date=report.report_date.isoformat())


@login_required
@require_POST
def report_subscribe(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    subscribed = services.report_subscription_set(
        actor=request.user, project=project, subscribed=request.POST.get("subscribe") == "1"
    )
    messages.success(
        request, "You will get the daily report by email." if subscribed else "You will not get it any more."
    )
    return redirect("report-list", code=project.code)


def _report(request: HttpRequest, code: str, report_date: str) -> DailyReport:
    project = access_project(request.user, code)
    try:
        on = date.fromisoformat(report_date)
    except ValueError:
        raise Http404("No such report.") from None
    report = DailyReport.objects.filter(project=project, report_date=on).first()
    if report is None:
        raise Http404("No report of that date.")
    return report


@login_required
def report_html(request: HttpRequest, code: str, report_date: str) -> HttpResponse:
    """The report in the app: the navigation, a way back, and the stored document as it was emailed."""
    report = _report(request, code, report_date)
    return render(request, "dashboard/report_view.html", {"project": report.project, "report": report})


@login_required
@xframe_options_sameorigin
def report_document(request: HttpRequest, code: str, report_date: str) -> HttpResponse:
    """The stored, standalone report document (what the email carried), framed by the report page."""
    return HttpResponse(_report(request, code, report_date).html)


@login_required
def report_pdf(request: HttpRequest, code: str, report_date: str) -> HttpResponse:
    report = _report(request, code, report_date)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{report.project.code}-daily-report-{report.report_date}.pdf"'
    )
    return response
