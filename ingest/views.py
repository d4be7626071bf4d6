"""Offload pages: start an offload, watch it live (htmx), cancel it, read its transfer report."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from catalog.audit import audit_record
from catalog.permissions import Cap, access_project, user_can
from ingest import reports, selectors, services
from ingest.forms import OffloadForm
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
    form = OffloadForm(request.POST or None, project=project)
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
