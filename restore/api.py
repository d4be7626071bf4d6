"""Restore API: request, approve/reject (one or many), follow; targets; drills.

Same services and gates as the pages: the API cannot do what the pages refuse.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Clip, Project
from catalog.permissions import AnyUser, Cap, access_project, projects_for, role_of
from core import names
from restore import selectors, services
from restore.models import RestoreApproval, RestoreDrill, RestoreItem, RestoreRequest, RestoreTarget
from restore.permissions import access_restore


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The restore request is not in a state that allows this."
    default_code = "conflict"


class RestoreTargetSerializer(serializers.ModelSerializer[RestoreTarget]):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="code", queryset=Project.objects.all()
    )

    class Meta:
        model = RestoreTarget
        fields = ["id", "project", "name", "kind", "host", "path", "scratch", "description"]

    def validate_path(self, value: str) -> str:
        # An object storage URL is checked by the service; a folder must be a clean absolute path.
        if not value.startswith("s3://") and (problem := names.path_problem(value)) is not None:
            raise serializers.ValidationError(f"path {problem}")
        return value

    def validate_host(self, value: str) -> str:
        if value and (problem := names.label_problem(value)) is not None:
            raise serializers.ValidationError(f"host {problem}")
        return value


class RestoreApprovalSerializer(serializers.ModelSerializer[RestoreApproval]):
    approver = serializers.CharField(source="approver.username", read_only=True)

    class Meta:
        model = RestoreApproval
        fields = ["approver", "decision", "comment", "created_at"]


class RestoreItemSerializer(serializers.ModelSerializer[RestoreItem]):
    source_volume = serializers.CharField(
        source="source_copy.volume.label", read_only=True, allow_null=True, default=None
    )
    xxh128 = serializers.CharField(source="media_file.xxh128", read_only=True)

    class Meta:
        model = RestoreItem
        fields = [
            "id",
            "path",
            "size",
            "xxh128",
            "state",
            "source_volume",
            "tries",
            "error",
            "seconds",
            "verified_at",
        ]


class RestoreRequestSerializer(serializers.ModelSerializer[RestoreRequest]):
    project = serializers.CharField(source="project.code", read_only=True)
    requester = serializers.CharField(
        source="requester.username", read_only=True, allow_null=True, default=None
    )
    target = serializers.CharField(source="target.name", read_only=True)
    approvals = RestoreApprovalSerializer(many=True, read_only=True)
    needs_second_approval = serializers.BooleanField(read_only=True)
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = RestoreRequest
        fields = [
            "id",
            "project",
            "requester",
            "target",
            "target_id",
            "reason",
            "selection",
            "state",
            "size_bytes",
            "file_count",
            "required_approvals",
            "needs_second_approval",
            "approvals",
            "host",
            "folder",
            "files_done",
            "bytes_done",
            "percent",
            "bytes_per_second",
            "eta_seconds",
            "current_file",
            "seconds",
            "error",
            "mhl_generation",
            "created_at",
            "decided_at",
            "queued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RestoreRequestDetailSerializer(RestoreRequestSerializer):
    items = RestoreItemSerializer(many=True, read_only=True)
    waiting_for_signoff = serializers.SerializerMethodField(
        help_text="Shoot day numbers whose sign-off the request waits (or, once approved, will wait) for."
    )

    class Meta(RestoreRequestSerializer.Meta):
        fields = [*RestoreRequestSerializer.Meta.fields, "waiting_for_signoff", "items"]
        read_only_fields = fields

    def get_waiting_for_signoff(self, restore: RestoreRequest) -> list[int]:
        return [day.number for day in selectors.restore_waiting_days(restore=restore)]


class RestoreCreateSerializer(serializers.Serializer[RestoreRequest]):
    project = serializers.CharField(
        required=False, help_text="Project code; inferred from the clips or target."
    )
    clips = serializers.JSONField(
        required=False,
        help_text='A list of clip ids, or one selector: {"scene": "12"}, {"day": 2}, {"card": "A001"}, '
        '{"search": "q=rain&camera=B"}.',
    )
    scene = serializers.CharField(required=False)
    day = serializers.IntegerField(required=False)
    unit = serializers.CharField(required=False, default="main")
    card = serializers.CharField(required=False)
    search = serializers.CharField(
        required=False,
        help_text="Every clip of the project matching a search: the search page's query string, "
        "e.g. q=rain&camera=B (its project parameter is replaced by the request's project).",
    )
    target = serializers.CharField(help_text="Restore target name (editorial, vfx…) or id.")
    reason = serializers.CharField(allow_blank=True)

    def selection(self) -> services.Selection:
        data: dict[str, Any] = dict(self.validated_data)
        clips = data.get("clips")
        if isinstance(clips, dict):
            data.update(clips)
        elif isinstance(clips, list):
            if not all(isinstance(c, int) or (isinstance(c, str) and c.isdigit()) for c in clips):
                raise ValidationError({"clips": "clip ids are whole numbers"})
            return services.Selection(clips=tuple(int(c) for c in clips))
        elif clips is not None:
            raise ValidationError({"clips": "give a list of clip ids or a scene/day/card selector"})
        given = [name for name in ("scene", "day", "card", "search") if data.get(name) not in (None, "")]
        if len(given) != 1:
            raise ValidationError(
                {"clips": "give a list of clip ids, or exactly one of scene, day, card or search"}
            )
        if given[0] == "search":
            return services.Selection(search=str(data["search"]))
        if given[0] == "day":
            try:
                day = int(data["day"])
            except (TypeError, ValueError):
                raise ValidationError({"day": "a shoot day number"}) from None
            return services.Selection(day=day, unit=str(data.get("unit") or "main"))
        if given[0] == "scene":
            return services.Selection(scene=str(data["scene"]))
        return services.Selection(card=str(data["card"]))


class DecisionSerializer(serializers.Serializer[RestoreRequest]):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class BulkApproveSerializer(serializers.Serializer[RestoreRequest]):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawSerializer(serializers.Serializer[RestoreRequest]):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class BulkOutcomeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    status = serializers.IntegerField(help_text="What approving this one alone would have answered.")
    state = serializers.CharField(allow_null=True)
    detail = serializers.CharField()


class BulkApproveResultSerializer(serializers.Serializer[Any]):
    results = BulkOutcomeSerializer(many=True)
    approved = serializers.IntegerField(required=False, help_text="bulk-approve: how many were approved")
    rejected = serializers.IntegerField(required=False, help_text="bulk-reject: how many were rejected")


def _project_for(user: AnyUser, data: dict[str, Any]) -> Project:
    """The project of a new request: named, else the clips' or the target's, else the user's only one."""
    if data.get("project"):
        return access_project(user, str(data["project"]))
    candidates: list[int] = []
    clips = data.get("clips")
    if isinstance(clips, list) and clips and str(clips[0]).isdigit():
        project_id = Clip.objects.filter(pk=int(clips[0])).values_list("project_id", flat=True).first()
        candidates += [project_id] if project_id else []
    target = str(data.get("target", ""))
    if target.isdigit():
        project_id = RestoreTarget.objects.filter(pk=int(target)).values_list("project_id", flat=True).first()
        candidates += [project_id] if project_id else []
    for project_id in candidates:
        if role_of(user, project_id) is not None:
            return Project.objects.get(pk=project_id)
    visible = list(projects_for(user)[:2])
    if len(visible) == 1:
        return visible[0]
    if not visible:
        raise Http404("No such project.")
    raise ValidationError({"project": "say which project the restore is for (its code)"})


class RestoreRequestViewSet(viewsets.GenericViewSet[RestoreRequest]):
    """Restore requests of the user's projects (roles that may request restores)."""

    serializer_class = RestoreRequestSerializer
    filterset_fields = {"project__code": ["exact"], "state": ["exact"]}

    def get_queryset(self) -> QuerySet[RestoreRequest]:
        return selectors.restore_list(user=self.request.user)

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RestoreRequestSerializer(page, many=True).data)

    @extend_schema(responses=RestoreRequestDetailSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        restore = access_restore(request.user, int(pk or 0))
        restore = (
            RestoreRequest.objects.select_related("project", "target", "requester")
            .prefetch_related("approvals__approver", "items__source_copy__volume", "items__media_file")
            .get(pk=restore.pk)
        )
        return Response(RestoreRequestDetailSerializer(restore).data)

    @extend_schema(request=RestoreCreateSerializer, responses={201: RestoreRequestSerializer})
    def create(self, request: Request) -> Response:
        incoming = RestoreCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        selection = incoming.selection()
        data: dict[str, Any] = dict(incoming.validated_data)
        project = _project_for(request.user, data)
        try:
            restore = services.restore_request_create(
                actor=request.user,
                project=project,
                selection=selection,
                target=data["target"],
                reason=data["reason"],
            )
        except services.RestoreError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(RestoreRequestSerializer(restore).data, status=status.HTTP_201_CREATED)

    def _decide(self, request: Request, pk: str | None, *, approve: bool) -> Response:
        incoming = DecisionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        comment = str(incoming.validated_data.get("comment", ""))
        # Any member may reach the service: a refused decision must be audit-logged, not just 403'd.
        restore = access_restore(request.user, int(pk or 0), need=Cap.VIEW)
        try:
            if approve:
                restore = services.restore_request_approve(
                    actor=request.user, restore=restore, comment=comment
                )
            else:
                restore = services.restore_request_reject(
                    actor=request.user, restore=restore, comment=comment
                )
        except services.RestoreConflict as exc:
            raise Conflict(str(exc)) from exc
        except services.RestoreError as exc:
            raise ValidationError({"comment": str(exc)}) from exc
        return Response(RestoreRequestSerializer(restore).data)

    @extend_schema(request=DecisionSerializer, responses=RestoreRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, pk, approve=True)

    @extend_schema(request=DecisionSerializer, responses=RestoreRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, pk, approve=False)

    @extend_schema(request=WithdrawSerializer, responses=RestoreRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """The requester takes back a request still waiting for approval (409 once decided)."""
        incoming = WithdrawSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        restore = access_restore(request.user, int(pk or 0), need=Cap.VIEW)
        try:
            restore = services.restore_request_withdraw(
                actor=request.user, restore=restore, reason=str(incoming.validated_data.get("reason", ""))
            )
        except services.RestoreConflict as exc:
            raise Conflict(str(exc)) from exc
        return Response(RestoreRequestSerializer(restore).data)

    @extend_schema(request=BulkApproveSerializer, responses=BulkApproveResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-approve")
    def bulk_approve(self, request: Request) -> Response:
        """Approve several requests in one call; each answers on its own (200, 403, 404 or 409)."""
        return self._bulk(request, approve=True)

    @extend_schema(request=BulkApproveSerializer, responses=BulkApproveResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-reject")
    def bulk_reject(self, request: Request) -> Response:
        """Reject several requests with one comment (required); each answers on its own."""
        return self._bulk(request, approve=False)

    def _bulk(self, request: Request, *, approve: bool) -> Response:
        incoming = BulkApproveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ids: list[int] = list(dict.fromkeys(incoming.validated_data["ids"]))
        comment = str(incoming.validated_data.get("comment", ""))
        found: list[RestoreRequest] = []
        results: list[dict[str, Any]] = []
        for restore_id in ids:
            try:
                found.append(access_restore(request.user, restore_id, need=Cap.VIEW))
            except Http404:
                results.append(
                    {
                        "id": restore_id,
                        "ok": False,
                        "status": 404,
                        "state": None,
                        "detail": "No such restore request.",
                    }
                )
        decide = services.restore_requests_approve if approve else services.restore_requests_reject
        for outcome in decide(actor=request.user, restores=found, comment=comment):
            results.append(
                {
                    "id": outcome.id,
                    "ok": outcome.ok,
                    "status": outcome.status,
                    "state": outcome.state,
                    "detail": outcome.detail,
                }
            )
        results.sort(key=lambda r: ids.index(r["id"]))
        done = sum(1 for r in results if r["ok"])
        return Response({"results": results, "approved" if approve else "rejected": done})


class RestoreTargetViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[RestoreTarget]):
    """Restore targets of the user's projects. Adding one needs `approve_restore` (admin)."""

    serializer_class = RestoreTargetSerializer
    filterset_fields = {"project__code": ["exact"], "name": ["exact"]}

    def get_queryset(self) -> QuerySet[RestoreTarget]:
        return selectors.target_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer[RestoreTarget]) -> None:
        data = dict(serializer.validated_data)
        project = access_project(self.request.user, data.pop("project").code, need=Cap.APPROVE_RESTORE)
        try:
            serializer.instance = services.restore_target_create(
                actor=self.request.user, project=project, **data
            )
        except services.RestoreTargetPathError as exc:
            raise ValidationError({"path": str(exc)}) from exc
        except services.RestoreError as exc:
            raise ValidationError({"detail": str(exc)}) from exc


class RestoreDrillSerializer(serializers.ModelSerializer[RestoreDrill]):
    project = serializers.CharField(source="project.code", read_only=True)
    restore_state = serializers.CharField(
        source="request.state", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RestoreDrill
        fields = [
            "id",
            "project",
            "tier",
            "trigger",
            "state",
            "clips",
            "bytes",
            "seconds",
            "mb_per_second",
            "cleaned",
            "error",
            "restore_state",
            "created_at",
            "finished_at",
            "scenario",
            "lost",
            "unrecoverable",
            "unrecoverable_files",
            "per_tier",
            "expected_seconds",
            "over_time",
        ]
        read_only_fields = fields


class DrillCreateSerializer(serializers.Serializer[RestoreDrill]):
    project = serializers.CharField()
    tier = serializers.ChoiceField(choices=["", "hot", "warm", "cold"], required=False, default="")
    sample_clips = serializers.IntegerField(required=False, min_value=1, max_value=100)
    scenario = serializers.ChoiceField(
        choices=RestoreDrill.Scenario.choices, required=False, default=RestoreDrill.Scenario.SAMPLE
    )
    day = serializers.IntegerField(required=False, min_value=1, help_text="Scenarios: the shoot day.")
    card = serializers.CharField(required=False, default="", help_text="Card corruption: the card's label.")
    site = serializers.CharField(required=False, default="", help_text="Loss of a site: the host.")


class RestoreDrillViewSet(viewsets.ReadOnlyModelViewSet[RestoreDrill]):
    """Restore drills of the user's projects. Starting one needs `ingest` (DIT, admin)."""

    serializer_class = RestoreDrillSerializer
    filterset_fields = {"project__code": ["exact"], "tier": ["exact"], "state": ["exact"]}

    def get_queryset(self) -> QuerySet[RestoreDrill]:
        return RestoreDrill.objects.filter(project__in=projects_for(self.request.user)).select_related(
            "project", "request"
        )

    @extend_schema(request=DrillCreateSerializer, responses={201: RestoreDrillSerializer})
    def create(self, request: Request) -> Response:
        incoming = DrillCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(incoming.validated_data)
        project = access_project(request.user, data["project"], need=Cap.INGEST)
        try:
            if data["scenario"] == RestoreDrill.Scenario.SAMPLE:
                drill = services.restore_drill_start(
                    actor=request.user,
                    project=project,
                    tier=data.get("tier", ""),
                    sample_clips=data.get("sample_clips"),
                )
            else:
                drill = services.restore_drill_scenario_start(
                    actor=request.user,
                    project=project,
                    scenario=data["scenario"],
                    day=data.get("day"),
                    card=data["card"],
                    tier=data.get("tier", ""),
                    site=data["site"],
                )
        except services.RestoreError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(RestoreDrillSerializer(drill).data, status=status.HTTP_201_CREATED)
