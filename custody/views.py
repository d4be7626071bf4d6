"""Custody pages: registry, register/edit, volume page, who-holds-what board, handoff and receive, labels."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.models import Volume
from catalog.permissions import Cap, Refused, access_project, user_can
from catalog.selectors import project_list
from custody import labels, selectors, services
from custody.forms import (
    CardFormatForm,
    HandoffForm,
    LabelSheetForm,
    QuotaForm,
    ReceiveForm,
    VolumeEditForm,
    VolumeRegisterForm,
)
from custody.models import VolumeRecord
from custody.permissions import MANAGE, access_custody_volume, access_handoff_receive, can_receive


def _form_error(form: forms.Form, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, str(exc))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The Volumes link of the header: straight to the registry when the user has one project."""
    projects = list(project_list(user=request.user))
    if len(projects) == 1:
        return redirect("custody-registry", code=projects[0].code)
    return render(request, "custody/home.html", {"projects": projects})


@login_required
def registry(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "volumes": selectors.registry(project=project),
        "replace": selectors.replacement_list(project=project)[:10],
        "can_manage": user_can(request.user, project, MANAGE),
        "sheet_form": LabelSheetForm(),
        "capacity": selectors.volumes_capacity(project=project),
        "quotas": selectors.quota_status(project=project),
        "quota_form": QuotaForm(),
    }
    return render(request, "custody/registry.html", context)


@login_required
@require_POST
def quota_set(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=MANAGE, refusal="custody.quota")
    form = QuotaForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Quota not saved: " + "; ".join(str(e) for e in form.errors.values()))
    else:
        data = form.cleaned_data
        services.capacity_quota_set(
            actor=request.user,
            project=project,
            kind=data["kind"],
            quota_bytes=data["quota_bytes"],
            planned_bytes_per_day=data["planned_bytes_per_day"],
        )
        messages.success(request, "Quota saved.")
    return redirect(reverse("custody-registry", args=[project.code]) + "#quota-h")


@login_required
def volume_register(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=MANAGE)
    form = VolumeRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.volume_record_register(actor=request.user, project=project, **data)
        except (services.CustodyError, ValidationError) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{record.identifier} registered. Print its label from its page.")
            return redirect("custody-volume", volume_id=record.volume_id)
    context = {"project": project, "form": form, "new": True, "can_manage": True}
    return render(request, "custody/volume_form.html", context)


@login_required
def volume_edit(request: HttpRequest, volume_id: int) -> HttpResponse:
    volume = access_custody_volume(request.user, volume_id, need=MANAGE)
    record: VolumeRecord | None = getattr(volume, "custody", None)
    if record is None:
        # A volume registered through the API, the admin or the demo: give it an identifier first.
        record = services.volume_record_attach(actor=request.user, volume=volume)
        volume.refresh_from_db()
    initial: dict[str, Any] = {name: getattr(volume, name) for name in services.VOLUME_FIELDS} | {
        name: getattr(record, name) for name in services.RECORD_FIELDS
    }
    form = VolumeEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = services.VOLUME_FIELDS + services.RECORD_FIELDS
        changes: dict[str, Any] = {name: data[name] for name in fields if name in data}
        changes["label"] = changes.get("label") or changes["identifier"]
        if data["clear_seal_problem"]:
            changes["seal_problem"] = ""
        try:
            services.volume_record_update(actor=request.user, record=record, changes=changes)
        except (services.CustodyError, ValidationError, Refused) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{changes.get('identifier', record.identifier)} saved.")
            return redirect("custody-volume", volume_id=volume.pk)
    context = {"project": volume.project, "form": form, "volume": volume, "record": record, "new": False}
    return render(request, "custody/volume_form.html", context)


@login_required
def volume_page(request: HttpRequest, volume_id: int) -> HttpResponse:
    volume = access_custody_volume(request.user, volume_id)
    can_manage = user_can(request.user, volume.project_id, MANAGE)
    in_transit = selectors.in_transit_for(volume=volume)
    context = {
        "project": volume.project,
        "volume": volume,
        "record": getattr(volume, "custody", None),
        "contents": selectors.contents(volume=volume),
        "used": (volume.capacity_bytes - volume.free_bytes)
        if volume.capacity_bytes is not None and volume.free_bytes is not None
        else None,
        "readings": selectors.health_history(volume=volume),
        "forecast": selectors.volume_forecast(volume=volume),
        "card": selectors.card_lifecycle(card=volume) if volume.kind == Volume.Kind.CARD else None,
        "format_form": CardFormatForm(),
        "reports": selectors.capacity_history(volume=volume, limit=10),
        "timeline": selectors.timeline(volume=volume),
        "in_transit": in_transit,
        "can_manage": can_manage,
        "can_receive": in_transit is not None and can_receive(request.user, in_transit),
        "audits": selectors.volume_audit(volume=volume)
        if user_can(request.user, volume.project_id, Cap.VIEW_AUDIT)
        else None,
    }
    return render(request, "custody/volume.html", context)


@login_required
@require_POST
def card_formatted(request: HttpRequest, volume_id: int) -> HttpResponse:
    volume = access_custody_volume(request.user, volume_id, need=MANAGE, refusal="card.formatted")
    form = CardFormatForm(request.POST)
    if form.is_valid():
        try:
            services.card_format_confirm(actor=request.user, card=volume, **form.cleaned_data)
        except services.CustodyError as exc:
            messages.error(request, f"Not recorded: {exc}.")
        else:
            messages.success(request, f"{volume.label} recorded as formatted and returned to camera.")
    return redirect(reverse("custody-volume", args=[volume.pk]) + "#card-h")


@login_required
def board(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "rows": selectors.holdings(project=project),
        "can_manage": user_can(request.user, project, MANAGE),
    }
    return render(request, "custody/board.html", context)


@login_required
def handoff_new(request: HttpRequest, volume_id: int) -> HttpResponse:
    volume = access_custody_volume(request.user, volume_id, need=MANAGE)
    form = HandoffForm(request.POST or None, project=volume.project)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.handoff_create(
                actor=request.user,
                volume=volume,
                to_user=form.receiver(),
                to_place=data["to_place"],
                from_place=data["from_place"],
                where=data["where"],
                seals=form.seal_list(),
                condition=data["condition"],
            )
        except (services.CustodyError, ValidationError) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{volume.label} handed over: in transit until received.")
            return redirect("custody-volume", volume_id=volume.pk)
    return render(
        request, "custody/handoff_form.html", {"project": volume.project, "volume": volume, "form": form}
    )


@login_required
def handoff_receive(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = access_handoff_receive(request.user, handoff_id)
    form = ReceiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            handoff = services.handoff_receive(
                actor=request.user,
                handoff=handoff,
                seals_found=form.seal_list(),
                note=form.cleaned_data["note"],
            )
        except services.CustodyError as exc:
            _form_error(form, exc)
        else:
            if handoff.seal_mismatch:
                messages.error(request, "Seal mismatch: the volume is flagged and an alert was raised.")
            else:
                messages.success(request, "Received; every seal matched.")
            return redirect("custody-volume", volume_id=handoff.volume_id)
    context = {"project": handoff.project, "volume": handoff.volume, "handoff": handoff, "form": form}
    return render(request, "custody/receive_form.html", context)


def volume_url(volume: Volume) -> str:
    return settings.REELVAULT_BASE_URL.rstrip("/") + reverse("custody-volume", args=[volume.pk])


@login_required
def labels_sheet(request: HttpRequest, code: str) -> HttpResponse:
    """A PDF of labels for the chosen volumes (``?volume=1&volume=2``; all registered ones by default)."""
    project = access_project(request.user, code)
    form = LabelSheetForm(request.GET or None)
    sheet, skip = ("L7160", 0)
    if form.is_valid():
        sheet, skip = form.cleaned_data["sheet"], form.cleaned_data["skip"] or 0
    records = VolumeRecord.objects.filter(project=project).select_related("volume")
    wanted = [int(v) for v in request.GET.getlist("volume") if v.isdigit()]
    if wanted:
        records = records.filter(volume_id__in=wanted)
    if not records:
        raise PermissionDenied("No registered volume to label: give the volumes identifiers first.")
    items = [
        labels.Label(
            identifier=r.identifier,
            project=f"{project.code} · {project.name}",
            kind=r.volume.get_kind_display(),
            url=volume_url(r.volume),
            detail=r.volume.label if r.volume.label != r.identifier else "",
        )
        for r in records
    ]
    pdf = labels.labels_pdf(items, sheet=sheet, skip=skip)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="labels-{project.code}.pdf"'
    return response
