"""ALE/CSV pages: upload -> preview (what would change, per clip) -> apply; export a day or card.

Importing needs ``edit_metadata`` (editor, DIT, admin); exporting needs any role
on the project, and the download is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from catalog.ale import DEFAULT_MAX_BYTES
from catalog.ale_export import clips_export
from catalog.ale_import import ALEImportError
from catalog.permissions import Cap, access_project, user_can
from ingest import ale_uploads
from ingest.forms_metadata import AleUploadForm, ExportForm
from ingest.permissions import access_ale_upload


@login_required
def ale_page(request: HttpRequest, code: str) -> HttpResponse:
    """Import (upload form) and export (day/card form) on one page."""
    need = Cap.EDIT_METADATA if request.method == "POST" else Cap.VIEW
    project = access_project(request.user, code, need=need)
    form = AleUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # One byte past the limit is enough to refuse a huge file without holding all of it.
        data = upload.read(DEFAULT_MAX_BYTES + 1)
        try:
            stored = ale_uploads.ale_upload_create(
                actor=request.user,
                project=project,
                filename=upload.name or "upload.ale",
                data=data,
                ignore_unknown_columns=form.cleaned_data["ignore_unknown_columns"],
            )
        except ale_uploads.UploadTooLarge as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("ale-preview", upload_id=stored.pk)
    context = {
        "project": project,
        "form": form,
        "export_form": ExportForm(project=project),
        "can_import": user_can(request.user, project, Cap.EDIT_METADATA),
    }
    return render(request, "metadata/ale.html", context, status=400 if form.errors else 200)


@login_required
def ale_preview(request: HttpRequest, upload_id: int) -> HttpResponse:
    """GET: what applying the uploaded file would change. POST: apply it (all or nothing)."""
    upload = access_ale_upload(request.user, upload_id)
    if upload.applied_at is not None:
        messages.info(request, f"{upload.filename} was applied at {upload.applied_at:%Y-%m-%d %H:%M}.")
        return redirect("ale-page", code=upload.project.code)
    if request.method == "POST":
        try:
            plan = ale_uploads.ale_upload_apply(
                actor=request.user, upload=upload, expect_digest=request.POST.get("digest", "")
            )
        except ALEImportError as exc:
            plan = exc.plan
            messages.error(request, "Nothing was applied: " + plan.error_text())
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("ale-page", code=upload.project.code)
        else:
            messages.success(
                request, f"{upload.filename} applied: {len(plan.changed)} clips changed (see the audit log)."
            )
            return redirect("ale-page", code=upload.project.code)
    else:
        plan = ale_uploads.ale_upload_preview(upload=upload)
    context = {"project": upload.project, "upload": upload, "plan": plan}
    return render(request, "metadata/ale_preview.html", context, status=200 if plan.ok else 400)


@login_required
@require_GET
def ale_export(request: HttpRequest, code: str) -> HttpResponse:
    """Download the clips of a day and/or card as ALE or CSV."""
    project = access_project(request.user, code)
    form = ExportForm(request.GET, project=project)
    if not form.is_valid():
        return HttpResponse(f"Invalid export: {form.errors.as_text()}", status=400, content_type="text/plain")
    data = form.cleaned_data
    day = project.days.filter(number=data["day"]).first() if data["day"] is not None else None
    card = project.volumes.filter(label=data["card"]).first() if data["card"] else None
    try:
        export = clips_export(actor=request.user, project=project, fmt=data["format"], day=day, card=card)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = HttpResponse(export.data, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
