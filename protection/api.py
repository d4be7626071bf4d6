"""Protection API: the project's policy, replication on demand, the replication queue, retry.

Same services and gates as the pages: the API cannot do what the pages refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Project, Volume
from catalog.permissions import Cap, access_project, projects_for
from protection import services
from protection.models import ReplicationItem, ReplicationJob
from protection.permissions import POLICY_EDIT, REPLICATE, access_replication


class PolicySerializer(serializers.Serializer[Project]):
    required_copies = serializers.IntegerField(min_value=1, max_value=20)
    required_media_kinds = serializers.IntegerField(min_value=1, max_value=6)
    required_offsite = serializers.IntegerField(min_value=0, max_value=20)
    required_sites = serializers.IntegerField(min_value=0, max_value=20)
    worm_tiers = serializers.ListField(
        child=serializers.ChoiceField(choices=Volume.Tier.choices), allow_empty=True
    )


class PolicyView(APIView):
    """GET / PUT /api/projects/<code>/policy/: the project's storage policy."""

    @extend_schema(responses=PolicySerializer)
    def get(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        return Response(PolicySerializer(project).data)

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def put(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code, need=POLICY_EDIT, refusal="project.policy_update")
        serializer = PolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            project = services.project_policy_update(
                actor=request.user, project=project, **serializer.validated_data
            )
        except services.ProtectionError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(PolicySerializer(project).data)


class ReplicationItemSerializer(serializers.ModelSerializer[ReplicationItem]):
    source_volume = serializers.CharField(
        source="source_copy.volume.label", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ReplicationItem
        fields = ["path", "size", "state", "source_volume", "already_there", "tries", "error", "seconds"]


class ReplicationJobSerializer(serializers.ModelSerializer[ReplicationJob]):
    project = serializers.CharField(source="project.code", read_only=True)
    destination = serializers.CharField(source="destination.label", read_only=True)
    rule = serializers.CharField(source="rule.__str__", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ReplicationJob
        fields = [
            "id",
            "project",
            "destination",
            "rule",
            "host",
            "state",
            "trigger",
            "error",
            "file_count",
            "size_bytes",
            "files_done",
            "bytes_done",
            "bytes_copied",
            "seconds",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ReplicationJobDetailSerializer(ReplicationJobSerializer):
    items = ReplicationItemSerializer(many=True, read_only=True)

    class Meta(ReplicationJobSerializer.Meta):
        fields = [*ReplicationJobSerializer.Meta.fields, "items"]


class ReplicationRequestSerializer(serializers.Serializer[Any]):
    project = serializers.CharField()
    card = serializers.CharField(required=False, help_text="Camera card label.")
    day = serializers.IntegerField(required=False, min_value=1, help_text="Shoot day number.")
    clips = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Clip ids.")


class PlannedSerializer(serializers.Serializer[Any]):
    files = serializers.IntegerField()
    jobs = ReplicationJobSerializer(many=True)
    unreachable = serializers.ListField(child=serializers.CharField())


class ReplicationJobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[ReplicationJob],
):
    """Replication jobs of your projects (``?project=CODE``, ``?state=``); POST plans on demand."""

    filterset_fields = ["state"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "create":
            return ReplicationRequestSerializer
        if self.action == "retrieve":
            return ReplicationJobDetailSerializer
        return ReplicationJobSerializer

    def get_queryset(self) -> QuerySet[ReplicationJob]:
        jobs = ReplicationJob.objects.filter(
            project__in=projects_for(self.request.user, Cap.VIEW)
        ).select_related("project", "destination", "rule__destination", "rule__source_group")
        code = self.request.query_params.get("project")
        if code:
            jobs = jobs.filter(project__code=code.upper())
        return jobs

    def get_object(self) -> ReplicationJob:
        job = access_replication(self.request.user, int(self.kwargs["pk"]))
        return (
            ReplicationJob.objects.select_related("project", "destination", "rule__destination")
            .prefetch_related("items__source_copy__volume")
            .get(pk=job.pk)
        )

    @extend_schema(request=ReplicationRequestSerializer, responses={201: PlannedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ReplicationRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        project = access_project(
            request.user, values["project"], need=REPLICATE, refusal="replication.request"
        )
        card = None
        if values.get("card"):
            card = project.volumes.filter(label__iexact=values["card"], kind=Volume.Kind.CARD).first()
            if card is None:
                raise ValidationError({"card": f"project {project.code} has no camera card {values['card']}"})
        try:
            planned = services.replication_request(
                actor=request.user,
                project=project,
                card=card,
                day=values.get("day"),
                clip_ids=values.get("clips", []),
            )
        except services.ProtectionError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(
            PlannedSerializer(
                {"files": planned.files, "jobs": planned.jobs, "unreachable": planned.unreachable}
            ).data,
            status=status.HTTP_201_CREATED,
        )

    def _job_action(
        self, request: Request, pk: str, action: str, service: Callable[..., ReplicationJob]
    ) -> Response:
        job = access_replication(request.user, int(pk), need=REPLICATE, refusal=f"replication.{action}")
        try:
            job = service(actor=request.user, job=job)
        except services.ProtectionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ReplicationJobSerializer(job).data)

    @extend_schema(request=None, responses=ReplicationJobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Queue a failed job again (409 unless failed)."""
        return self._job_action(request, pk, "retry", services.replication_job_retry)

    @extend_schema(request=None, responses=ReplicationJobSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        """Hold a waiting or running job (a running one stops between files)."""
        return self._job_action(request, pk, "pause", services.replication_job_pause)

    @extend_schema(request=None, responses=ReplicationJobSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Queue a paused job again."""
        return self._job_action(request, pk, "resume", services.replication_job_resume)
