"""Server-rendered catalog pages. Each view authorizes through permissions.py, then renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from catalog import clip_export, saved_searches, search, selection, selectors
from catalog.filters import ORDERING_CHOICES, clip_filter_parse, facet_links, search_query_string
from catalog.permissions import (
    Cap,
    access_clip,
    access_project,
    projects_for,
    restore_waits_for_signoff,
    role_of,
    user_can,
)
from catalog.policy import clip_protection


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
        "can_restore": user_can(request.user, project, Cap.REQUEST_RESTORE),
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
        "protection": clip_protection(clip_id=clip.pk),
        "history": selectors.object_history(object_type="catalog.clip", object_id=str(clip.pk))[:50],
        "can_edit": user_can(request.user, clip.project_id, Cap.EDIT_METADATA),
        "can_restore": user_can(request.user, clip.project_id, Cap.REQUEST_RESTORE),
        "can_view_audit": user_can(request.user, clip.project_id, Cap.VIEW_AUDIT),
        # Days whose sign-off a restore of this clip by this user would wait for (usually none).
        "restore_waits_for": restore_waits_for_signoff(request.user, clip.project, day_ids=[clip.day_id]),
    }
    return render(request, "catalog/clip_detail.html", context)


# --------------------------------------------------------------------------- #
# Search, saved searches ("search templates") and exports
# --------------------------------------------------------------------------- #


def _is_htmx_partial(request: HttpRequest) -> bool:
    # A history restore (back button after the cache is gone) needs the whole page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@login_required
@require_GET
def clip_search(request: HttpRequest) -> HttpResponse:
    """The editor's search page. With htmx only the results (and facets, out of band) are sent."""
    parsed, filterset = clip_filter_parse(request.GET)
    result = (
        search.clip_search_page(user=request.user, search=parsed, page=request.GET.get("page"))
        if parsed is not None
        else None
    )
    relaxations = (
        search.clip_search_relaxations(user=request.user, search=parsed)
        if parsed is not None and result is not None and result.total == 0
        else []
    )
    context = {
        "relaxations": [(r, search_query_string(_without(request.GET, r.field))) for r in relaxations],
        "described": search.search_description(parsed) if parsed is not None else "",
        # The selection bar offers "Request restore…" only to those who may request one somewhere.
        "can_restore": bool(result and result.total)
        and projects_for(request.user, Cap.REQUEST_RESTORE).exists(),
        "filterset": filterset,
        "form": filterset.form,
        "search": parsed,
        "result": result,
        "facets": facet_links(request.GET, result.facets) if result else {},
        "query": search_query_string(request.GET),
        "projects": projects_for(request.user, Cap.VIEW).only("id", "code", "name"),
        "saved_searches": saved_searches.saved_search_list(user=request.user),
        "orderings": ORDERING_CHOICES,
        "default_ordering": search.DEFAULT_ORDERING,
        "review_issues": search.review_issues_available(),
        "count_cap": search.COUNT_CAP,
        "facet_limit": search.FACET_LIMIT,
    }
    if _is_htmx_partial(request):
        response = render(request, "catalog/_search_results.html", {**context, "oob": True})
    else:
        response = render(request, "catalog/search.html", context)
    # One URL, two bodies: without Vary the browser's back button can show the bare partial
    # from its cache (no header, no scripts) after the user left the page.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def clip_search_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current search's clips as CSV or ALE (up to search.EXPORT_LIMIT clips)."""
    parsed, filterset = clip_filter_parse(request.GET)
    if parsed is None:
        return HttpResponse(
            f"Invalid search: {filterset.errors.as_text()}", status=400, content_type="text/plain"
        )
    clips = search.clip_export_list(user=request.user, search=parsed)
    if clips is None:
        return HttpResponse(
            f"More than {search.EXPORT_LIMIT:,} clips match: narrow the search to export it.",
            status=400,
            content_type="text/plain",
        )
    if fmt == "ale":
        body, content_type = clip_export.clips_ale(clips), "text/plain; charset=utf-8"
    else:
        body, content_type = clip_export.clips_csv(clips), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="reelvault-clips.{fmt}"'
    return response


def _without(data: QueryDict, name: str) -> QueryDict:
    changed = data.copy()
    changed.pop(name, None)
    return changed


#: Clips a page of the selection list shows.
SELECTION_PAGE = 100


@login_required
@require_GET
def clip_selection(request: HttpRequest) -> HttpResponse:
    """What was selected on the search page: listed, exported, or sent to a restore request.

    ``action``: ``list`` (default), ``csv``, ``ale`` or ``restore``. Only clips the
    user may see are ever counted, listed or exported (selection.clip_selection_clips).
    """
    action = request.GET.get("action", "list")
    back = _search_url(search_query_string(QueryDict(request.GET.get("query", ""))))
    try:
        chosen = selection.clip_selection_parse(request.GET)
        if chosen.is_empty:
            raise selection.SelectionError("tick the clips you want first, or select all matches")
        clips = selection.clip_selection_clips(user=request.user, selection=chosen)
        total = search.clip_count_capped(queryset=clips, cap=selection.SELECTION_LIMIT)
        if total > selection.SELECTION_LIMIT:
            raise selection.SelectionError(
                f"more than {selection.SELECTION_LIMIT:,} clips are selected: narrow the search"
            )
    except selection.SelectionError as exc:
        messages.error(request, f"Nothing to do: {exc}.")
        return redirect(back)
    if action in ("csv", "ale"):
        rows = list(clips)
        body = clip_export.clips_ale(rows) if action == "ale" else clip_export.clips_csv(rows)
        kind = "text/plain" if action == "ale" else "text/csv"
        response = HttpResponse(body, content_type=f"{kind}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="reelvault-selection.{action}"'
        return response
    codes = sorted(set(clips.values_list("project__code", flat=True).distinct()))
    restorable = sorted(
        projects_for(request.user, Cap.REQUEST_RESTORE).filter(code__in=codes).values_list("code", flat=True)
    )
    if action == "restore":
        if len(codes) == 1 and restorable:
            return redirect(reverse("restore-new", args=[codes[0]]) + "?" + chosen.as_query())
        if not restorable:
            messages.error(request, "Your role does not allow requesting restores of these clips.")
        else:
            messages.info(request, "A restore request is for one project: pick the project's clips below.")
    page = Paginator(clips.annotate(size=Sum("files__size")), SELECTION_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "total": total,
        "described": chosen.describe(total),
        "selection_query": chosen.as_query(),
        "restore_projects": restorable,
        "back": back,
    }
    return render(request, "catalog/selection.html", context)


def _search_url(query: str) -> str:
    return reverse("clip-search") + (f"?{query}" if query else "")


@login_required
@require_POST
def saved_search_create(request: HttpRequest) -> HttpResponse:
    """Save the search in the hidden ``query`` field under ``name``, privately or shared with ``project``."""
    query = search_query_string(QueryDict(request.POST.get("query", "")))
    code = request.POST.get("project", "").strip()
    project = access_project(request.user, code) if code else None
    try:
        saved = saved_searches.saved_search_create(
            actor=request.user,
            name=request.POST.get("name", ""),
            query=query,
            project=project,
            shared=request.POST.get("shared") == "on",
        )
    except ValidationError as exc:
        messages.error(request, "Not saved: " + " ".join(exc.messages))
        return redirect(_search_url(query))
    scope = f"shared with {project.code}" if saved.shared and project else "private"
    messages.success(request, f"Saved “{saved.name}” ({scope}).")
    return redirect(_search_url(saved.query))


@login_required
@require_GET
def saved_search_open(request: HttpRequest, saved_id: int) -> HttpResponseRedirect:
    """A stable link to a saved search: redirects to the search page with its query."""
    saved = saved_searches.access_saved_search(request.user, saved_id)
    return redirect(_search_url(saved.query))


@login_required
@require_POST
def saved_search_delete(request: HttpRequest, saved_id: int) -> HttpResponseRedirect:
    saved = saved_searches.access_saved_search(request.user, saved_id, delete=True)
    name = saved.name
    saved_searches.saved_search_delete(actor=request.user, saved_search=saved)
    messages.success(request, f"Deleted the saved search “{name}”.")
    return redirect(_search_url(search_query_string(QueryDict(request.POST.get("query", "")))))
