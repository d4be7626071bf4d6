"""Saved searches ("search templates"): the gate, the reads and the writes, in one small module.

Rules:
- A private search is seen and used by its owner only.
- A shared search belongs to one project; every member of that project sees it.
  Any member may share one (the search itself never shows more than the viewer
  may see: it is only a query string, run with the viewer's own rights).
- Deleting: the owner, or an admin of the project it is shared with.
- Others get 404 (its existence is not revealed); a member who may see a shared
  search but not delete it gets 403.

Creating and deleting are audit-logged like every other change.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from catalog.audit import audit_record
from catalog.models import Project, SavedSearch
from catalog.permissions import AnyUser, Cap, projects_for, user_can

MAX_SAVED_PER_USER = 200


def saved_search_list(*, user: AnyUser) -> QuerySet[SavedSearch]:
    """The user's own searches and those shared with projects they may view, shared ones first."""
    if not user.is_authenticated:
        return SavedSearch.objects.none()
    visible = Q(owner_id=user.pk) | Q(shared=True, project__in=projects_for(user, Cap.VIEW))
    return (
        SavedSearch.objects.filter(visible)
        .select_related("project", "owner")
        .order_by("-shared", "name", "id")
    )


def access_saved_search(user: AnyUser, saved_search_id: int, *, delete: bool = False) -> SavedSearch:
    """The saved search if the user may see it (and, with ``delete``, delete it); else 404 / 403."""
    saved = SavedSearch.objects.select_related("project").filter(pk=saved_search_id).first()
    if saved is None or not user.is_authenticated:
        raise Http404("No such saved search.")
    is_owner = saved.owner_id == user.pk
    sees = is_owner or (
        saved.shared and saved.project_id is not None and user_can(user, saved.project_id, Cap.VIEW)
    )
    if not sees:
        raise Http404("No such saved search.")
    if delete and not is_owner:
        assert saved.project_id is not None  # a shared search always has its project
        if not user_can(user, saved.project_id, Cap.MANAGE_MEMBERS):
            raise PermissionDenied("Only its owner or a project admin may delete a shared search.")
    return saved


@transaction.atomic(durable=True)
def saved_search_create(
    *, actor: AnyUser, name: str, query: str, project: Project | None, shared: bool
) -> SavedSearch:
    """Save a search under ``name``; saving again under the same name (any case) replaces the query.

    ``project`` must be one the actor may view (the caller checks it through
    ``access_project``); it is required when ``shared``.

    Raises:
        ValidationError: empty or too long name, too long query, shared without a project,
            or too many saved searches.
    """
    if not actor.is_authenticated:
        raise PermissionDenied("Log in to save a search.")
    if shared and project is None:
        raise ValidationError({"project": "Choose the project to share the search with."})
    existing = (
        SavedSearch.objects.select_for_update().filter(owner_id=actor.pk, name__iexact=name.strip()).first()
    )
    before = {"query": existing.query, "shared": existing.shared} if existing else None
    if existing is None and SavedSearch.objects.filter(owner_id=actor.pk).count() >= MAX_SAVED_PER_USER:
        raise ValidationError(f"You already have {MAX_SAVED_PER_USER} saved searches; delete some first.")
    saved = existing or SavedSearch(owner_id=actor.pk)
    saved.name = name.strip()
    saved.query = query
    saved.project = project
    saved.shared = shared
    saved.full_clean(validate_constraints=existing is None)
    saved.save()
    audit_record(
        actor=actor,
        action="saved_search.update" if existing else "saved_search.create",
        obj=saved,
        project=project,
        before=before,
        after={"name": saved.name, "query": saved.query, "shared": saved.shared},
    )
    return saved


@transaction.atomic(durable=True)
def saved_search_delete(*, actor: AnyUser, saved_search: SavedSearch) -> None:
    """Delete a saved search (the caller has passed ``access_saved_search(..., delete=True)``)."""
    snapshot = {"name": saved_search.name, "query": saved_search.query, "shared": saved_search.shared}
    project = saved_search.project
    object_id = str(saved_search.pk)
    saved_search.delete()
    audit_record(
        actor=actor,
        action="saved_search.delete",
        project=project,
        object_type="catalog.savedsearch",
        object_id=object_id,
        before=snapshot,
    )
