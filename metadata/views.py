"""Metadata pages: the review queue (fix or waive), validation rules, clip edit and bulk edit, thumbnails.

Each view authorizes through the permission gates, then calls one service or selector.
Who may do what: anyone on the project reads; editors, DITs and admins edit metadata
and fix review items; DITs and admins waive rules, edit the rules and re-run extraction.

ALE/CSV pages: upload -> preview (what would change, per clip) -> apply; export a day or card.

Importing needs ``edit_metadata`` (editor, DIT, admin); exporting needs any role
on the project, and the download is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from catalog.display import when_text
from catalog.models import Clip, Project
from catalog.permissions import Cap, access_clip, access_project, user_can
from formats.ale import DEFAULT_MAX_BYTES
from metadata import ale_uploads, review
from metadata import extraction as metadata
from metadata.ale_export import clips_export
from metadata.ale_import import ALEImportError
from metadata.edits import EDITABLE_CLIP_FIELDS
from metadata.forms import AleUploadForm, BulkEditForm, ClipEditForm, ExportForm, RulesForm, WaiveForm
from metadata.models import MetadataExtraction, ReviewItem
from metadata.permissions import access_ale_upload, access_review_item
from metadata.selectors import review_item_list

PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    '<rect width="320" height="180" fill="#2b2f36"/>'
    '<text x="160" y="96" fill="#9aa3ad" font-family="sans-serif" font-size="16" text-anchor="middle">'
    "No preview</text></svg>"
)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


@login_required
def metadata_home(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    open_by_kind = (
        ReviewItem.objects.filter(project=project, state=ReviewItem.State.OPEN)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    extraction = (
        MetadataExtraction.objects.filter(clip__project=project)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    labels = dict(ReviewItem.Kind.choices)
    context = {
        "project": project,
        "open_by_kind": [
            (row["kind"], labels.get(row["kind"], row["kind"]), row["n"]) for row in open_by_kind
        ],
        "extraction": {row["state"]: row["n"] for row in extraction},
        "cards": project.volumes.filter(kind="card").order_by("label"),
        "days": project.days.all(),
        "can_edit": user_can(request.user, project, Cap.EDIT_METADATA),
        "can_ingest": user_can(request.user, project, Cap.INGEST),
    }
    return render(request, "metadata/home.html", context)


@login_required
def review_list(request: HttpRequest, code: str) -> HttpResponse:
    """The review queue of a project, filtered by state, kind, card, day and text."""
    project = access_project(request.user, code)
    params = request.GET.copy()
    params.setdefault("state", ReviewItem.State.OPEN.value)  # the page opens on what is left to do
    items = review_item_list(user=request.user, project=project, params=params)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    filters = {name: params.get(name, "").strip() for name in ("state", "kind", "card", "day", "q")}
    context = {
        "project": project,
        "page": page,
        "filters": filters,
        "kinds": ReviewItem.Kind.choices,
        "states": ReviewItem.State.choices,
        "cards": project.volumes.filter(kind="card").order_by("label").values_list("label", flat=True),
        "days": project.days.values_list("number", flat=True),
        "editable": set(EDITABLE_CLIP_FIELDS),
        "extraction_kinds": set(review.EXTRACTION_KINDS),
        "can_edit": user_can(request.user, project, Cap.EDIT_METADATA),
        "can_waive": user_can(request.user, project, Cap.INGEST),
        "query": request.GET.urlencode(),
    }
    return render(request, "metadata/review_list.html", context)


@login_required
@require_POST
def review_fix(request: HttpRequest, item_id: int) -> HttpResponse:
    """Fix an item: set the clip field it is about (or just check again), then re-validate."""
    item = access_review_item(request.user, item_id, need=Cap.EDIT_METADATA, refusal="review.fix")
    changes: dict[str, Any] = {}
    if item.field in EDITABLE_CLIP_FIELDS and "value" in request.POST:
        value: Any = request.POST["value"]
        if item.field == "cast":
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif item.field == "circled":
            value = value.lower() in ("1", "true", "yes", "on")
        changes[item.field] = value
    try:
        review.review_item_fix(actor=request.user, item=item, changes=changes)
    except (review.ReviewError, ValueError) as exc:
        messages.error(request, f"{item.clip or item.project}: {exc}")
    except ValidationError as exc:
        messages.error(request, f"{item.clip or item.project}: {_errors(exc)}")
    else:
        messages.success(request, f"Fixed: {item.clip} — {item.get_kind_display().lower()}.")
    return _back(request, reverse("review-list", args=[item.project.code]))


@login_required
@require_POST
def review_waive(request: HttpRequest, item_id: int) -> HttpResponse:
    """Waive the rule for one item, with a reason (DIT, admin)."""
    item = access_review_item(request.user, item_id, need=Cap.INGEST, refusal="review.waive")
    form = WaiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to waive a rule.")
    else:
        try:
            review.review_item_waive(actor=request.user, item=item, reason=form.cleaned_data["reason"])
        except review.ReviewError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"Waived: {item.clip or item.project} — {item.get_kind_display().lower()}."
            )
    return _back(request, reverse("review-list", args=[item.project.code]))


@login_required
@require_POST
def review_validate(request: HttpRequest, code: str) -> HttpResponse:
    """Validate every clip of the project against its rules again."""
    project = access_project(request.user, code, need=Cap.EDIT_METADATA, refusal="review.validate")
    counts = review.review_project_validate(actor=request.user, project=project)
    messages.success(
        request,
        f"Validated: {counts.opened} new problems, {counts.reopened} reopened, "
        f"{counts.closed} no longer found.",
    )
    return redirect("review-list", code=project.code)


@login_required
def rules_edit(request: HttpRequest, code: str) -> HttpResponse:
    """The project's naming schema and validation rules: everyone reads them, DITs and admins change them."""
    writing = request.method == "POST"
    project = access_project(
        request.user,
        code,
        need=Cap.INGEST if writing else Cap.VIEW,
        refusal="ingest_rules.update" if writing else "",
    )
    rules = review.rules_for(project)
    form = RulesForm(request.POST or None, initial=RulesForm.initial_from(rules))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _rules, counts = review.ingest_rules_update(
                actor=request.user,
                project=project,
                naming_pattern=data["naming_pattern"],
                required_fields=data["required_fields"],
                allowed_values=data["allowed_values"],
                known_cameras=data["known_cameras"],
                camera_rules=data["camera_rules"],
                require_sidecar=data["require_sidecar"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                f"Rules saved. Review queue: {counts.opened} new problems, {counts.reopened} reopened, "
                f"{counts.closed} no longer found.",
            )
            return redirect("rules-edit", code=project.code)
    context = {
        "project": project,
        "form": form,
        "rules": rules,
        "can_change": user_can(request.user, project, Cap.INGEST),
    }
    return render(request, "metadata/rules.html", context)


@login_required
def clip_edit(request: HttpRequest, clip_id: int) -> HttpResponse:
    """Edit one clip's metadata; the audit log records before and after."""
    # Opening a form is a read; only a refused POST is an attempted write, and audited.
    refusal = "clip.update" if request.method == "POST" else ""
    clip = access_clip(request.user, clip_id, need=Cap.EDIT_METADATA, refusal=refusal)
    form = ClipEditForm(request.POST or None, initial=ClipEditForm.initial_from(clip))
    if request.method == "POST" and form.is_valid():
        try:
            result = review.clip_metadata_bulk_edit(
                actor=request.user, project=clip.project, clip_ids=[clip.pk], changes=form.changes()
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Saved." if result.changed else "Nothing changed.")
            return redirect("clip-edit", clip_id=clip.pk)
    open_items = ReviewItem.objects.filter(clip=clip, state=ReviewItem.State.OPEN).order_by("kind", "id")
    context = {"clip": clip, "project": clip.project, "form": form, "open_items": open_items}
    return render(request, "metadata/clip_edit.html", context)


def _bulk_clips(project: Project, params: Any) -> tuple[QuerySet[Clip], dict[str, str]]:
    filters = {"day": params.get("day", ""), "card": params.get("card", ""), "q": params.get("q", "").strip()}
    clips = Clip.objects.filter(project=project).select_related("day", "card")
    if filters["day"].isdigit():
        clips = clips.filter(day__number=int(filters["day"]))
    if filters["card"]:
        clips = clips.filter(card__label__iexact=filters["card"])
    if filters["q"]:
        clips = clips.filter(name__icontains=filters["q"])
    return clips.order_by("name"), filters


BULK_PAGE = 500


@login_required
def clip_bulk_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Select clips (by day, card, name) and set the same values on all of them."""
    refusal = "clip.update" if request.method == "POST" else ""
    project = access_project(request.user, code, need=Cap.EDIT_METADATA, refusal=refusal)
    clips, filters = _bulk_clips(project, request.GET)
    form = BulkEditForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        selected = [c.pk for c in form.cleaned_data["clips"]]
        try:
            result = review.clip_metadata_bulk_edit(
                actor=request.user, project=project, clip_ids=selected, changes=form.changes()
            )
        except (ValueError, ValidationError) as exc:
            form.add_error(None, _errors(exc) if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(
                request,
                f"{len(result.changed)} clips changed, {len(result.unchanged)} already had these values.",
            )
            return redirect(f"{reverse('clip-bulk-edit', args=[project.code])}?{request.GET.urlencode()}")
    context = {
        "project": project,
        "form": form,
        "clips": clips[:BULK_PAGE],
        "more": clips.count() > BULK_PAGE,
        "filters": filters,
        "selected": {int(v) for v in request.POST.getlist("clips") if v.isdigit()},
        "cards": project.volumes.filter(kind="card").order_by("label").values_list("label", flat=True),
        "days": project.days.values_list("number", flat=True),
    }
    return render(request, "metadata/bulk_edit.html", context)


@login_required
def clip_thumbnail(request: HttpRequest, clip_id: int) -> HttpResponse | FileResponse:
    """The clip's poster frame, or a placeholder when none could be made."""
    clip = access_clip(request.user, clip_id)
    path = metadata.thumbnail_path(clip)
    response: HttpResponse | FileResponse
    if path.is_file():
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
    else:
        response = HttpResponse(PLACEHOLDER_SVG, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def metadata_rerun(request: HttpRequest, code: str) -> HttpResponse:
    """Queue extraction again for a card or a day (DIT, admin)."""
    project = access_project(request.user, code, need=Cap.INGEST, refusal="clip.extract_requested")
    card = (
        project.volumes.filter(label__iexact=request.POST.get("card", "")).first()
        if request.POST.get("card")
        else None
    )
    day_text = request.POST.get("day", "")
    day = project.days.filter(number=int(day_text)).first() if day_text.isdigit() else None
    if card is None and day is None:
        messages.error(request, "Choose a card or a day.")
        return redirect("metadata-home", code=project.code)
    sent = metadata.clip_metadata_rerun(actor=request.user, project=project, card=card, day=day)
    messages.success(request, f"Extraction queued for {sum(sent.values())} clips.")
    return redirect("metadata-home", code=project.code)


@login_required
def ale_page(request: HttpRequest, code: str) -> HttpResponse:
    """Import (upload form) and export (day/card form) on one page."""
    writing = request.method == "POST"
    need = Cap.EDIT_METADATA if writing else Cap.VIEW
    project = access_project(request.user, code, need=need, refusal="ale.import" if writing else "")
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
    upload = access_ale_upload(
        request.user, upload_id, refusal="ale.import" if request.method == "POST" else ""
    )
    if upload.applied_at is not None:
        messages.info(request, f"{upload.filename} was applied at {when_text(upload.applied_at)}.")
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
    response["Content-Disposition"] = content_disposition_header(True, export.filename)
    return response
