"""Fixity API: list and read audit runs, start one (``POST /api/fixity-runs/`` or
``POST /api/volumes/<id>/audit/``). Same services and gates as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Volume
from catalog.permissions import access_volume, projects_for
from fixity import selectors, services
from fixity.models import FixityRun
from fixity.permissions import AUDIT, access_fixity_run


class FixityRunSerializer(serializers.ModelSerializer[FixityRun]):
    project = serializers.CharField(source="project.code", read_only=True)
    volume_label = serializers.CharField(source="volume.label", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    plan_files = serializers.SerializerMethodField()
    bytes_per_second = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = FixityRun
        fields = [
            "id",
            "project",
            "volume",
            "volume_label",
            "kind",
            "state",
            "scheduled",
            "requested_by",
            "sample_size",
            "budget_bytes",
            "budget_seconds",
            "host",
            "created_at",
            "started_at",
            "finished_at",
            "plan_files",
            "plan_bytes",
            "files_checked",
            "bytes_checked",
            "seconds",
            "bytes_per_second",
            "proven",
            "corrupt",
            "missing",
            "extra",
            "moved",
            "repaired",
            "findings",
            "error",
        ]
        read_only_fields = fields

    def get_plan_files(self, run: FixityRun) -> int:
        return len(run.plan)


class AuditRequestSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=FixityRun.Kind.choices, default=FixityRun.Kind.INCREMENTAL)
    sample_size = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, required=False, allow_null=True
    )
    budget_gb = serializers.FloatField(min_value=0.001, max_value=1_000_000, required=False, allow_null=True)


class FixityRunCreateSerializer(AuditRequestSerializer):
    volume = serializers.IntegerField()


def _start(request: Request, volume_id: int, data: dict[str, Any]) -> Response:
    volume: Volume = access_volume(request.user, volume_id, need=AUDIT, refusal="fixity.request")
    budget = data.get("budget_gb")
    try:
        run = services.fixity_run_request(
            actor=request.user,
            volume=volume,
            kind=data["kind"],
            sample_size=data.get("sample_size"),
            budget_bytes=int(budget * 10**9) if budget else None,
        )
    except services.FixityError as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(FixityRunSerializer(run).data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[
        OpenApiParameter("project", str, description="project code"),
        OpenApiParameter("volume", int, description="volume id"),
        OpenApiParameter("state", str, enum=FixityRun.State.values),
    ]
)
class FixityRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[FixityRun],
):
    """Audit runs of the projects you are a member of; DITs and admins start one."""

    serializer_class = FixityRunSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[FixityRun]:
        runs = selectors.run_list(projects=projects_for(self.request.user))
        params = self.request.query_params
        if params.get("project"):
            runs = runs.filter(project__code__iexact=params["project"])
        if params.get("volume", "").isdigit():
            runs = runs.filter(volume_id=int(params["volume"]))
        if params.get("state"):
            runs = runs.filter(state=params["state"])
        return runs

    def get_object(self) -> FixityRun:
        return access_fixity_run(self.request.user, int(self.kwargs["pk"]))

    @extend_schema(request=FixityRunCreateSerializer, responses={201: FixityRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = FixityRunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _start(request, form.validated_data["volume"], form.validated_data)


@extend_schema(request=AuditRequestSerializer, responses={201: FixityRunSerializer})
@api_view(["POST"])
def volume_audit(request: Request, volume_id: int) -> Response:
    """Start an audit of the volume (DITs and admins)."""
    form = AuditRequestSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    return _start(request, volume_id, form.validated_data)
