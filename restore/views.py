"""Restore pages: request, decide, follow live; the runbook with seed lists; drills."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.audit import audit_record
from catalog.models import Project
from catalog.permissions import Cap, access_project, projects_for, user_can
from catalog.selection import SelectionError, clip_selection_parse
from restore import manifests, selectors, services
from restore.forms import DecisionForm, RestoreRequestForm
from restore.models import DrillSchedule, RestoreDrill
from restore.permissions import access_restore


@login_required
def restore_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=Cap.REQUEST_RESTORE)
    context = {
        "project": project,
        "restores": selectors.restore_list(user=request.user).filter(project=project)[:200],
        "can_approve": user_can(request.user, project, Cap.APPROVE_RESTORE),
    }
    return render(request, "restore/restore_list.html", context)


def _selection_initial(request: HttpRequest, project: Project) -> dict[str, str]:
    """The search page's selection (catalog/selection.py) as the form's hidden fields, for ``project``.

    Ticked clips of other projects are left out here (the list page offers one
    request per project); the clip page's link sends ``clips``.
    """
    data = request.GET.copy()
    if data.get("clips") and not data.get("clip"):
        data.setlist("clip", str(data.get("clips", "")).split(","))
    try:
        chosen = clip_selection_parse(data)
    except SelectionError:
        return {}
    if chosen.every_match:
        return {"by": "selection", "search": chosen.query or "q="}
    ids = project.clips.filter(pk__in=chosen.clip_ids).order_by("name").values_list("pk", flat=True)
    return {"by": "selection", "clips": ",".join(map(str, ids))} if ids else {}


@login_required
def restore_new(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    if request.method != "POST" and not user_can(request.user, project, Cap.REQUEST_RESTORE):
        raise PermissionDenied("Your role does not allow requesting restores.")
    initial = _selection_initial(request, project) if request.method != "POST" else {}
    carried = request.POST if request.method == "POST" else initial
    clip_ids = [int(p) for p in str(carried.get("clips", "")).split(",") if p.strip().isdigit()]
    search = str(carried.get("search", ""))
    preview, preview_error = None, ""
    if clip_ids or search:
        try:
            preview = selectors.selection_preview(project=project, clip_ids=clip_ids, search=search)
        except ValueError as exc:
            preview_error = str(exc)  # said beside the choice; a POST gets the service's error
    form = RestoreRequestForm(
        request.POST or None,
        project=project,
        initial=initial,
        has_selection=bool(preview_error) or (preview is not None and preview.count > 0),
    )
    if request.method == "POST" and form.is_valid():
        try:
            selection = form.selection()
            restore = services.restore_request_create(
                actor=request.user,
                project=project,
                selection=selection,
                target=form.cleaned_data["target"].pk,
                reason=form.cleaned_data["reason"],
            )
        except forms.ValidationError as exc:
            form.add_error(None, exc)
        except services.RestoreError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Restore {restore.pk} requested; the project's admins were asked to approve it."
            )
            return redirect("restore-detail", restore_id=restore.pk)
    context = {"project": project, "form": form, "preview": preview, "preview_error": preview_error}
    return render(request, "restore/restore_new.html", context)


@login_required
def restore_detail(request: HttpRequest, restore_id: int) -> HttpResponse:
    restore = access_restore(request.user, restore_id)
    can_decide = (
        user_can(request.user, restore.project_id, Cap.APPROVE_RESTORE)
        and restore.requester_id != request.user.pk
        and not restore.approvals.filter(approver_id=request.user.pk).exists()
        and restore.state == restore.State.REQUESTED
    )
    context = {
        "restore": restore,
        "project": restore.project,
        "items": selectors.restore_items(restore=restore),
        "approvals": restore.approvals.select_related("approver"),
        "can_decide": can_decide,
        "can_withdraw": restore.requester_id == request.user.pk and restore.state == restore.State.REQUESTED,
        "form": DecisionForm(),
        "waiting_days": selectors.restore_waiting_days(restore=restore),
    }
    partial = request.headers.get("HX-Request") == "true"
    if not partial:  # the progress section polls; the clip list and estimate come with the page
        context["selection_text"] = selectors.selection_text(selection=restore.selection)
        context["plan"] = selectors.restore_plan(restore=restore)
    return render(request, "restore/_progress.html" if partial else "restore/restore_detail.html", context)


@login_required
@require_POST
def restore_decide(request: HttpRequest, restore_id: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "reject"):
        raise Http404("No such action.")
    restore = access_restore(request.user, restore_id, need=Cap.VIEW)
    form = DecisionForm(request.POST)
    comment = form.data.get("comment", "") if form.is_valid() else ""
    try:
        if decision == "approve":
            restore = services.restore_request_approve(actor=request.user, restore=restore, comment=comment)
            messages.success(request, f"Restore {restore.pk}: {restore.get_state_display()}.")
        else:
            restore = services.restore_request_reject(actor=request.user, restore=restore, comment=comment)
            messages.info(request, f"Restore {restore.pk} rejected.")
    except services.RestoreError as exc:
        messages.error(request, str(exc))
    return redirect("restore-detail", restore_id=restore.pk)


@login_required
def restore_inbox(request: HttpRequest) -> HttpResponse:
    """Requests awaiting the user's approval, across their projects; approve or reject several at once."""
    if not projects_for(request.user, Cap.APPROVE_RESTORE).exists():
        raise PermissionDenied("Your role does not approve restores on any project.")
    if request.method == "POST":
        action = request.POST.get("action", "")
        ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
        comment = request.POST.get("comment", "").strip()
        if action not in ("approve", "reject"):
            messages.error(request, "Choose Approve or Reject.")
        elif not ids:
            messages.error(request, "Tick at least one request first.")
        elif action == "reject" and not comment:
            messages.error(request, "Say why the requests are rejected (comment): the requesters read it.")
        else:
            _inbox_decide(request, ids=ids, approve=action == "approve", comment=comment)
        return redirect("restore-inbox")
    context = {
        "restores": selectors.awaiting_approval(user=request.user)[:500],
        "ttl_hours": settings.REELVAULT_RESTORE_REQUEST_TTL_HOURS,
    }
    return render(request, "restore/inbox.html", context)


def _inbox_decide(request: HttpRequest, *, ids: list[int], approve: bool, comment: str) -> None:
    found = []
    for restore_id in dict.fromkeys(ids):
        try:
            found.append(access_restore(request.user, restore_id, need=Cap.VIEW))
        except Http404:
            messages.error(request, f"Restore {restore_id}: no such restore request.")
    decide = services.restore_requests_approve if approve else services.restore_requests_reject
    outcomes = decide(actor=request.user, restores=found, comment=comment)
    done = [o for o in outcomes if o.ok]
    if done:
        verb = "Approved" if approve else "Rejected"
        numbers = ", ".join(str(o.id) for o in done)
        waiting = sum(1 for o in done if o.state == "requested")
        extra = f" ({waiting} still need a second admin)" if waiting else ""
        messages.success(
            request, f"{verb} {len(done)} request{'s' if len(done) != 1 else ''}: {numbers}{extra}."
        )
    for outcome in outcomes:
        if not outcome.ok:
            messages.error(request, f"Restore {outcome.id}: {outcome.detail}")


@login_required
@require_POST
def restore_withdraw(request: HttpRequest, restore_id: int) -> HttpResponse:
    restore = access_restore(request.user, restore_id, need=Cap.VIEW)
    try:
        restore = services.restore_request_withdraw(
            actor=request.user, restore=restore, reason=request.POST.get("reason", "")
        )
    except services.RestoreConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Restore {restore.pk} withdrawn; the admins were told.")
    return redirect("restore-detail", restore_id=restore.pk)


@login_required
def runbook(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {"project": project, "book": selectors.runbook(project=project)}
    return render(request, "restore/runbook.html", context)


@login_required
def seed_list(request: HttpRequest, code: str, number: int, fmt: str) -> HttpResponse:
    project = access_project(request.user, code)
    day = project.days.filter(number=number).order_by("unit").first()
    if day is None or fmt not in ("csv", "mhl"):
        raise Http404("No such seed list.")
    files = list(selectors.day_media_files(day=day))
    # A list of every file and checksum is a sensitive download: it is audit-logged.
    audit_record(
        actor=request.user,
        action=f"restore.seed_list_{fmt}",
        obj=day,
        project=project,
        after={"files": len(files)},
    )
    name = f"{project.code}_day{day.number:02d}_seed_media"
    if fmt == "csv":
        response = HttpResponse(manifests.seed_list_csv(files), content_type="text/csv; charset=utf-8")
    else:
        body = manifests.seed_list_mhl(files, comment=f"Seed media list of {project.code} day {day.number}")
        response = HttpResponse(body, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
def drill_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "drills": selectors.drill_list(project=project)[:100],
        "trends": selectors.drill_trends(project=project),
        "scenario_trends": selectors.scenario_trends(project=project),
        "can_run": user_can(request.user, project, Cap.INGEST),
        "can_schedule": user_can(request.user, project, Cap.MANAGE_RECOVERY),
        "schedules": selectors.drill_schedules(project=project),
        "tiers": RestoreDrill._meta.get_field("tier").choices,
        "scenarios": RestoreDrill.Scenario.choices,
        "day_rules": DrillSchedule.DayRule.choices,
    }
    return render(request, "restore/drill_list.html", context)


def _whole(value: str, default: int) -> int:
    value = value.strip()
    return int(value) if value.isdigit() else default


@login_required
@require_POST
def drill_schedule(request: HttpRequest, code: str) -> HttpResponse:
    """Add or change the schedule of one drill scenario (admins and producers)."""
    project = access_project(request.user, code, need=Cap.MANAGE_RECOVERY, refusal="restore.drill_schedule")
    post = request.POST
    unit = 24 * 7 if post.get("unit") == "weeks" else 24
    try:
        schedule = services.drill_schedule_set(
            actor=request.user,
            project=project,
            spec=services.ScheduleSpec(
                scenario=post.get("scenario", RestoreDrill.Scenario.SAMPLE),
                interval_hours=_whole(post.get("every", ""), 0) * unit,
                sample_clips=_whole(post.get("clips", ""), 3),
                tier=post.get("tier", ""),
                site=post.get("site", ""),
                day_rule=post.get("day_rule", DrillSchedule.DayRule.LATEST),
                enabled=post.get("enabled", "on") == "on",
            ),
        )
    except services.RestoreError as exc:
        messages.error(request, str(exc))
    else:
        state = schedule.every if schedule.enabled else "paused"
        messages.success(request, f"{schedule.get_scenario_display()} drills: {state}.")
    return redirect("drill-list", code=project.code)


@login_required
@require_POST
def drill_run(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=Cap.INGEST)
    scenario = request.POST.get("scenario", RestoreDrill.Scenario.SAMPLE)
    day = request.POST.get("day", "").strip()
    try:
        if scenario == RestoreDrill.Scenario.SAMPLE:
            drill = services.restore_drill_start(
                actor=request.user, project=project, tier=request.POST.get("tier", "")
            )
        else:
            drill = services.restore_drill_scenario_start(
                actor=request.user,
                project=project,
                scenario=scenario,
                day=int(day) if day.isdigit() else None,
                card=request.POST.get("card", "").strip(),
                tier=request.POST.get("tier", ""),
                site=request.POST.get("site", "").strip(),
            )
    except services.RestoreError as exc:
        messages.error(request, str(exc))
    else:
        what = drill.lost if drill.lost else f"the {drill.tier} tier"
        messages.success(request, f"Drill {drill.pk} started: {drill.get_scenario_display()}, {what}.")
    return redirect("drill-list", code=project.code)
