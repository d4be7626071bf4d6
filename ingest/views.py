"""Offload pages: start an offload, watch it live (htmx), cancel it, read its transfer report."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from catalog.audit import audit_record
from catalog.models import Volume
from catalog.permissions import Cap, access_project, user_can
from core.queues import QueueUnavailable
from ingest import presets, reports, selectors, services
from ingest.forms import OffloadForm, PresetForm
from ingest.permissions import access_offload


@login_required
def offload_list(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "jobs": selectors.offload_list(project=project)[:100],
        "can_ingest": user_can(request.user, project, Cap.INGEST),
    }
    return render(request, "ingest/offload_list.html", context)


@login_required
def offload_new(request: HttpRequest, code: str) -> HttpResponse:
    # Opening the form is a read; only a refused POST is an attempted write, and audited.
    refusal = "offload.create" if request.method == "POST" else ""
    project = access_project(request.user, code, need=Cap.INGEST, refusal=refusal)
    preset = selectors.offload_preset(project=project)
    initial: dict[str, object] = {"source": request.GET.get("source", "")}
    if preset is not None:
        initial |= {
            "destinations": list(preset.destinations.all()),
            "md5": "md5" in preset.algorithms,
            "sha1": "sha1" in preset.algorithms,
        }
    form = OffloadForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        algorithms = [name for name in ("md5", "sha1") if data[name]]
        try:
            job = services.offload_job_create(
                actor=request.user,
                project=project,
                source=Path(data["source"]),
                destinations=list(data["destinations"]),
                label=data["label"] or None,
                algorithms=algorithms,
                day=data["day"],
                confirm_warning=data["confirm_warning"],
            )
        except services.OffloadBusyError as exc:
            messages.info(request, str(exc))
            return redirect("offload-detail", job_id=exc.job.pk)
        except services.OffloadLabelError as exc:
            form.add_error("label", str(exc))
        except services.OffloadError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Offload of {job.label} queued.")
            again = selectors.cards_offloaded_not_formatted(project=project, labels=[job.label])
            for warning in again.values():
                messages.warning(request, f"A second offload: {warning}.")
            return redirect("offload-detail", job_id=job.pk)
    return render(request, "ingest/offload_new.html", {"project": project, "form": form})


@login_required
def offload_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_offload(request.user, job_id)
    context = {
        "job": job,
        "project": job.project,
        "can_ingest": user_can(request.user, job.project_id, Cap.INGEST),
        "mhl_notes": selectors.offload_mhl_notes(job=job),
    }
    template = (
        "ingest/_offload_progress.html" if request.headers.get("HX-Request") else "ingest/offload_detail.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def offload_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_offload(request.user, job_id, need=Cap.INGEST, refusal="offload.cancel")
    services.offload_job_cancel(actor=request.user, job=job)
    messages.info(request, f"Cancel requested for {job.label}.")
    return redirect("offload-detail", job_id=job.pk)


@login_required
def offload_report(request: HttpRequest, job_id: int, fmt: str = "html") -> HttpResponse:
    job = access_offload(request.user, job_id)
    report = reports.transfer_report(job=job)
    if fmt in ("csv", "pdf"):
        # A download of the report is a sensitive read: it lists every file and hash.
        audit_record(actor=request.user, action=f"offload.report_{fmt}", obj=job, project=job.project)
    if fmt == "csv":
        response = HttpResponse(reports.transfer_report_csv(report), content_type="text/csv; charset=utf-8")
        # Labels are any text a card carries: the header helper escapes quotes and line breaks.
        response["Content-Disposition"] = content_disposition_header(True, f"{job.label}_transfer_report.csv")
        return response
    if fmt == "pdf":
        response = HttpResponse(reports.transfer_report_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, f"{job.label}_transfer_report.pdf")
        return response
    context = {
        "job": job,
        "project": job.project,
        "report": report,
        "production": reports.production_rows(report),
        "started": reports.local_time(job.started_at),
        "finished": reports.local_time(job.finished_at),
        "duration": reports.duration(job.seconds),
        "speed": reports.speed(report),
    }
    return render(request, "ingest/offload_report.html", context)


@login_required
def offload_screen(request: HttpRequest, code: str) -> HttpResponse:
    """The DIT's offload screen: mounted cards, destinations, the host's queue (htmx refreshes it)."""
    project = access_project(request.user, code)
    preset = selectors.offload_preset(project=project)
    throughput = selectors.offload_throughput()
    destinations = selectors.destination_states(project=project)
    context = {
        "project": project,
        "preset": preset,
        "throughput": throughput,
        "destinations": destinations,
        "cards": selectors.offload_screen_cards(
            project=project, preset=preset, destinations=destinations, throughput=throughput
        ),
        "queue": selectors.host_offload_queue(project=project),
        # Preset destinations whose drive is in warning health: starting needs the DIT's confirmation.
        "preset_warning": [
            v.label
            for v in (preset.destinations.all() if preset else [])
            if v.health == Volume.Health.WARNING
        ],
        "recent": selectors.offload_recent_finished(project=project),
        "can_ingest": user_can(request.user, project, Cap.INGEST),
        "auto_offload": settings.REELVAULT_AUTO_OFFLOAD,
        "host": settings.REELVAULT_HOSTNAME,
    }
    template = (
        "ingest/_offload_screen_live.html"
        if request.headers.get("HX-Request")
        else "ingest/offload_screen.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def offload_screen_start(request: HttpRequest, code: str) -> HttpResponse:
    """Start an offload of one mounted card with the project's preset."""
    project = access_project(request.user, code, need=Cap.INGEST, refusal="offload.create")
    preset = selectors.offload_preset(project=project)
    if preset is None or not preset.destinations.exists():
        messages.error(request, "This project has no offload preset with destinations yet: set one up first.")
        return redirect("offload-preset", code=project.code)
    try:
        job = services.offload_job_create(
            actor=request.user,
            project=project,
            source=Path(request.POST.get("source", "")),
            destinations=list(preset.destinations.all()),
            algorithms=preset.algorithms,
            confirm_warning=request.POST.get("confirm_warning") == "on",
        )
    except services.OffloadBusyError as exc:
        messages.info(request, str(exc))
    except services.OffloadError as exc:
        messages.error(request, str(exc))
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Offload of {job.label} queued (shoot day {job.day.number if job.day else '—'})."
        )
    return redirect("offload-screen", code=project.code)


@login_required
def offload_preset_edit(request: HttpRequest, code: str) -> HttpResponse:
    refusal = "offload_preset.save" if request.method == "POST" else ""
    project = access_project(request.user, code, need=Cap.INGEST, refusal=refusal)
    preset = selectors.offload_preset(project=project)
    initial: dict[str, object] = {}
    if preset is not None:
        initial = {
            "destinations": list(preset.destinations.all()),
            "md5": "md5" in preset.algorithms,
            "sha1": "sha1" in preset.algorithms,
            "folder_template": preset.folder_template,
            "day_rule": preset.day_rule,
            "auto_start": preset.auto_start,
        }
    form = PresetForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            presets.offload_preset_save(
                actor=request.user,
                project=project,
                destinations=list(data["destinations"]),
                algorithms=[name for name in ("md5", "sha1") if data[name]],
                folder_template=data["folder_template"],
                day_rule=data["day_rule"],
                auto_start=data["auto_start"],
            )
        except presets.PresetError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Offload preset saved.")
            return redirect("offload-screen", code=project.code)
    return render(request, "ingest/offload_preset.html", {"project": project, "form": form})


@login_required
@require_POST
def offload_pause(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_offload(request.user, job_id, need=Cap.INGEST, refusal="offload.pause")
    services.offload_job_pause(actor=request.user, job=job)
    messages.info(request, f"Pause requested for {job.label}: it stops after the files being verified.")
    if request.POST.get("next") == "screen":
        return redirect("offload-screen", code=job.project.code)
    return redirect("offload-detail", job_id=job.pk)


@login_required
@require_POST
def offload_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_offload(request.user, job_id, need=Cap.INGEST, refusal="offload.resume")
    try:
        services.offload_job_resume(actor=request.user, job=job)
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Offload of {job.label} resumed: verified files are not copied again.")
    if request.POST.get("next") == "screen":
        return redirect("offload-screen", code=job.project.code)
    return redirect("offload-detail", job_id=job.pk)
