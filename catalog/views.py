"""Server-rendered catalog pages. Each view authorizes through permissions.py, then renders."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import selectors
from catalog.permissions import Cap, access_clip, access_project, role_of, user_can


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list(user=request.user)
    return render(request, "catalog/home.html", {"projects": projects})


@login_required
def project_detail(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    context = {
        "project": project,
        "role": role_of(request.user, project),
        "days": project.days.all(),
        "volumes": project.volumes.all(),
        "recent_clips": project.clips.select_related("day").order_by("-modified_at")[:25],
        "can_view_audit": user_can(request.user, project, Cap.VIEW_AUDIT),
    }
    return render(request, "catalog/project_detail.html", context)


@login_required
def project_audit(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=Cap.VIEW_AUDIT)
    events = selectors.audit_list(user=request.user).filter(project=project)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "catalog/audit.html", {"project": project, "page": page})


@login_required
def clip_detail(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = access_clip(request.user, clip_id)
    context = {
        "clip": clip,
        "files": selectors.clip_files_with_copies(clip=clip),
        "history": selectors.object_history(object_type="catalog.clip", object_id=str(clip.pk))[:50],
        "can_edit": user_can(request.user, clip.project_id, Cap.EDIT_METADATA),
        "can_restore": user_can(request.user, clip.project_id, Cap.REQUEST_RESTORE),
    }
    return render(request, "catalog/clip_detail.html", context)
