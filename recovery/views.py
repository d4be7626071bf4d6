"""Pages: incidents (list, page, opened from an alert), runbook section history, the recovery desk."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.permissions import access_alert
from alerts.selectors import escalation_ladder, on_duty
from catalog.audit import audit_record
from catalog.models import Volume
from catalog.permissions import Cap, RoleName, access_project, user_can
from recovery import selectors, services
from recovery.models import Checklist, Incident, PracticeScenario
from recovery.pdf import incident_pdf as render_incident_pdf
from recovery.permissions import access_checklist, access_incident, can_complete


def _number(value: str, default: float = 0) -> float:
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


@login_required
def incident_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    if request.method == "POST":
        project = access_project(request.user, code, need=Cap.ACKNOWLEDGE_ALERTS, refusal="incident.open")
        try:
            incident = services.incident_open(
                actor=request.user,
                project=project,
                title=request.POST.get("title", ""),
                cause=request.POST.get("cause", Incident.Cause.OTHER),
                summary=request.POST.get("summary", ""),
            )
        except services.IncidentError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("incident-detail", incident_id=incident.pk)
    context = {
        "project": project,
        "incidents": selectors.incident_list(project=project)[:200],
        "causes": Incident.Cause.choices,
        "can_open": user_can(request.user, project, Cap.ACKNOWLEDGE_ALERTS),
    }
    return render(request, "recovery/incident_list.html", context)


@login_required
@require_POST
def incident_from_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = access_alert(request.user, alert_id, handle="acknowledge")
    existing = Incident.objects.filter(alert=alert, state=Incident.State.OPEN).first()
    if existing is not None:
        return redirect("incident-detail", incident_id=existing.pk)
    incident = services.incident_open(
        actor=request.user, project=alert.project, title=alert.title, alert=alert
    )
    messages.success(request, "Incident opened from the alert: its history is on the timeline.")
    return redirect("incident-detail", incident_id=incident.pk)


@login_required
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = access_incident(request.user, incident_id)
    project = incident.project
    context = {
        "incident": incident,
        "project": project,
        "events": incident.events.select_related("author"),
        "lessons": incident.lessons.select_related("created_by").prefetch_related(
            "runbook_versions__section"
        ),
        "people": incident.people.order_by("username"),
        "volumes": incident.project.volumes.order_by("kind", "label"),
        "involved": set(incident.volumes.values_list("pk", flat=True)),
        "members": project.memberships.select_related("user").order_by("user__username"),
        "causes": Incident.Cause.choices,
        "tiers": Volume.Tier.choices,
        "can_write": user_can(request.user, project, Cap.ACKNOWLEDGE_ALERTS),
        "can_edit_runbook": user_can(request.user, project, Cap.MANAGE_RECOVERY),
    }
    return render(request, "recovery/incident_detail.html", context)


@login_required
def incident_pdf(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The incident as a PDF; what leaves the system is audit-logged (``incident.pdf_download``)."""
    incident = access_incident(request.user, incident_id)
    body = render_incident_pdf(incident)
    audit_record(
        actor=request.user,
        action="incident.pdf_download",
        obj=incident,
        project=incident.project,
        after={"title": incident.title, "bytes": len(body)},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{incident.project.code}-incident-{incident.pk}.pdf"'
    return response


@login_required
@require_POST
def incident_act(request: HttpRequest, incident_id: int, what: str) -> HttpResponse:
    """One write on an incident: note, impact, lesson (may edit the runbook), resolve."""
    if what not in ("note", "impact", "lesson", "resolve"):
        raise Http404("No such action.")
    need = Cap.ACKNOWLEDGE_ALERTS
    tier = request.POST.get("runbook_tier", "")
    if what == "lesson" and tier:
        need = Cap.MANAGE_RECOVERY
    incident = access_incident(request.user, incident_id, need=need, refusal=f"incident.{what}")
    post = request.POST
    try:
        if what == "note":
            services.incident_note_add(actor=request.user, incident=incident, text=post.get("text", ""))
        elif what == "impact":
            members = {m.user_id: m.user for m in incident.project.memberships.select_related("user")}
            people = [members[int(v)] for v in post.getlist("people") if v.isdigit() and int(v) in members]
            picked = [int(v) for v in post.getlist("volumes") if v.isdigit()]
            volumes = (
                list(incident.project.volumes.filter(pk__in=picked)) if "volumes_shown" in post else None
            )
            services.incident_impact_set(
                actor=request.user,
                incident=incident,
                impact=services.Impact(
                    clips_affected=int(_number(post.get("clips_affected", "0"))),
                    days_affected=post.get("days_affected", ""),
                    hours_lost=_number(post.get("hours_lost", "0")),
                    impact=post.get("impact", ""),
                ),
                people=people,
                volumes=volumes,
            )
        elif what == "lesson":
            runbook = None
            if tier:
                runbook = services.SectionText(
                    tier=tier,
                    who=post.get("who", ""),
                    steps=post.get("steps", ""),
                    notes=post.get("notes", ""),
                )
            services.lesson_add(
                actor=request.user,
                incident=incident,
                text=post.get("text", ""),
                action=post.get("action", ""),
                runbook=runbook,
            )
        else:
            services.incident_resolve(
                actor=request.user, incident=incident, resolution=post.get("resolution", "")
            )
    except services.IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Saved.")
    return redirect("incident-detail", incident_id=incident.pk)


@login_required
def runbook_history(request: HttpRequest, code: str, tier: str) -> HttpResponse:
    project = access_project(request.user, code)
    if tier not in Volume.Tier.values:
        raise Http404("No such tier.")
    context = {
        "project": project,
        "tier": Volume.Tier(tier).label,
        "versions": selectors.runbook_versions(project=project, tier=tier),
    }
    return render(request, "recovery/runbook_history.html", context)


@login_required
def desk(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    now = timezone.now()
    context = {
        "project": project,
        "on_duty": on_duty(project=project, at=now),
        "shifts": project.duty_shifts.filter(ends_at__gt=now).select_related("user")[:50],
        "ladder": escalation_ladder(project=project),
        "own_ladder": project.escalation_steps.exists(),
    }
    return render(request, "recovery/desk.html", context)


@login_required
def checklist_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    if request.method == "POST":
        project = access_project(request.user, code, need=Cap.MANAGE_RECOVERY, refusal="checklist.create")
        try:
            checklist = services.checklist_create(
                actor=request.user,
                project=project,
                name=request.POST.get("name", ""),
                items=request.POST.get("items", "").splitlines(),
                kind=request.POST.get("kind", Checklist.Kind.OTHER),
                role=request.POST.get("role", ""),
                required_for_signoff=request.POST.get("required_for_signoff") == "on",
            )
        except services.IncidentError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("checklist-detail", checklist_id=checklist.pk)
    context = {
        "project": project,
        "checklists": selectors.checklists_for(project=project),
        "kinds": Checklist.Kind.choices,
        "roles": [(role.value, role.value.replace("_", " ")) for role in RoleName if role != RoleName.VIEWER],
        "can_manage": user_can(request.user, project, Cap.MANAGE_RECOVERY),
    }
    return render(request, "recovery/checklist_list.html", context)


@login_required
def checklist_detail(request: HttpRequest, checklist_id: int) -> HttpResponse:
    checklist = access_checklist(request.user, checklist_id, complete=request.method == "POST")
    project = checklist.project
    days = list(project.days.order_by("-number")[:30])
    if request.method == "POST":
        number = request.POST.get("day", "")
        day = next((d for d in days if str(d.number) == number), None)
        ticked = [int(v) for v in request.POST.getlist("item") if v.isdigit()]
        try:
            run = services.checklist_complete(
                actor=request.user,
                checklist=checklist,
                ticked=ticked,
                day=day,
                note=request.POST.get("note", ""),
            )
        except services.IncidentError as exc:
            messages.error(request, str(exc))
        else:
            when = timezone.localtime(run.completed_at)
            messages.success(request, f"Completed by {request.user.get_username()} at {when:%H:%M %Z}.")
            return redirect("checklist-detail", checklist_id=checklist.pk)
    context = {
        "checklist": checklist,
        "project": project,
        "items": checklist.items.all(),
        "days": days,
        "runs": selectors.checklist_runs(checklist=checklist)[:20],
        "can_complete": can_complete(request.user, checklist),
    }
    return render(request, "recovery/checklist_detail.html", context)


@login_required
def practice(request: HttpRequest, code: str) -> HttpResponse:
    """The practice scenarios of a practice project: broken, being fixed or fixed, and how long it took."""
    project = access_project(request.user, code)
    scenarios = services.practice_check(project=project)
    context = {
        "project": project,
        "rows": selectors.practice_rows(scenarios=scenarios),
        "can_reset": user_can(request.user, project, Cap.MANAGE_MEMBERS),
    }
    return render(request, "recovery/practice.html", context)


@login_required
@require_POST
def practice_reset(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """Break a practice scenario again (admins only: the capability only they have; audited)."""
    scenario = PracticeScenario.objects.select_related("project").filter(pk=scenario_id).first()
    if scenario is None:
        raise Http404("No such practice scenario.")
    access_project(request.user, scenario.project.code, need=Cap.MANAGE_MEMBERS, refusal="practice.reset")
    scenario = services.practice_scenario_reset(actor=request.user, scenario=scenario)
    messages.success(request, f"{scenario.title}: broken again, the clock restarted.")
    return redirect("practice", code=scenario.project.code)
