"""Fixity pages: the project overview, a volume's audits (and starting one), a run's report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog.permissions import Refused, access_project, access_volume, user_can
from catalog.selectors import project_list
from fixity import selectors, services
from fixity.models import FixityRun
from fixity.permissions import AUDIT, access_fixity_run


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = list(project_list(user=request.user))
    if len(projects) == 1:
        return redirect("fixity-overview", code=projects[0].code)
    return render(request, "fixity/home.html", {"projects": projects})


@login_required
def overview(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "summaries": selectors.project_overview(project=project),
        "runs": selectors.run_list(projects=type(project).objects.filter(pk=project.pk))[:20],
        "trend": selectors.failure_trend(project=project),
    }
    return render(request, "fixity/overview.html", context)


@login_required
def volume_page(request: HttpRequest, volume_id: int) -> HttpResponse:
    volume = access_volume(request.user, volume_id)
    if request.method == "POST":
        volume = access_volume(request.user, volume_id, need=AUDIT, refusal="fixity.request")
        kind = request.POST.get("kind", FixityRun.Kind.INCREMENTAL)
        sample = request.POST.get("sample_size", "")
        try:
            run = services.fixity_run_request(
                actor=request.user,
                volume=volume,
                kind=kind,
                sample_size=int(sample) if sample.isdigit() else None,
            )
        except services.FixityError as exc:
            messages.error(request, str(exc))
            return redirect("fixity-volume", volume_id=volume.pk)
        messages.success(request, f"Audit {run.pk} of {volume.label} is queued.")
        return redirect("fixity-run", run_id=run.pk)
    context = {
        "project": volume.project,
        "volume": volume,
        "s": selectors.volume_summary(volume=volume),
        "runs": volume.fixity_runs.select_related("requested_by")[:30],
        "can_audit": user_can(request.user, volume.project, AUDIT),
        "kinds": FixityRun.Kind.choices,
    }
    return render(request, "fixity/volume.html", context)


@login_required
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_fixity_run(request.user, run_id)
    if request.method == "POST" and request.POST.get("action") == "repair":
        run = access_fixity_run(request.user, run_id, need=AUDIT, refusal="fixity.repair_request")
        try:
            count = services.fixity_repair_request(actor=request.user, run=run)
        except services.FixityError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"A repair of {count} cop{'y' if count == 1 else 'ies'} is queued.")
        return redirect("fixity-run", run_id=run.pk)
    if request.method == "POST":
        run = access_fixity_run(request.user, run_id, need=AUDIT, refusal="fixity.moved_accept")
        path = request.POST.get("path", "")
        try:
            copy = services.fixity_moved_accept(actor=request.user, run=run, path=path)
        except (services.FixityError, Refused) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"The catalog now has this copy at {copy.path}.")
        return redirect("fixity-run", run_id=run.pk)
    context = {
        "project": run.project,
        "run": run,
        "volume": run.volume,
        "findings": selectors.findings_by_kind(run=run),
        "can_audit": user_can(request.user, run.project, AUDIT),
        "active": run.state in FixityRun.ACTIVE,
        "to_repair": selectors.copies_to_repair(volume=run.volume) if services.repairable(run.volume) else 0,
    }
    return render(request, "fixity/run.html", context)
