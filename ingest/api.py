"""Offload API: start an offload, follow it, cancel it. Same service and gates as the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Volume
from catalog.permissions import Cap, access_project, projects_for
from core import names
from ingest import services
from ingest.models import OffloadJob
from ingest.permissions import access_offload


class OffloadJobSerializer(serializers.ModelSerializer[OffloadJob]):
    project = serializers.CharField(source="project.code", read_only=True)
    destinations: serializers.SlugRelatedField[Volume] = serializers.SlugRelatedField(
        slug_field="label", many=True, read_only=True
    )
    day = serializers.IntegerField(source="day.number", read_only=True, allow_null=True, default=None)

    class Meta:
        model = OffloadJob
        fields = [
            "id",
            "project",
            "label",
            "source_path",
            "host",
            "destinations",
            "day",
            "algorithms",
            "state",
            "phase",
            "folder",
            "destination_progress",
            "files_total",
            "files_done",
            "bytes_total",
            "bytes_done",
            "bytes_per_second",
            "eta_seconds",
            "current_file",
            "health_confirmations",
            "safe_to_format",
            "source_bytes_read",
            "seconds",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class OffloadCreateSerializer(serializers.Serializer[OffloadJob]):
    project = serializers.CharField(help_text="Project code.")
    # DRF fields are class attributes; the stubs confuse these names with Field.source/label.
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="Absolute path of the card, under the host's ingest roots.",
        validators=[names.validate_path],
        max_length=names.PATH_MAX,
    )
    destinations = serializers.ListField(
        child=serializers.CharField(validators=[names.validate_label]),
        min_length=1,
        max_length=20,
        help_text="Volume labels (or ids) of the project.",
    )
    label = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, validators=[names.validate_label], max_length=names.LABEL_MAX
    )
    hashes = serializers.ListField(
        child=serializers.ChoiceField(choices=["xxh128", "md5", "sha1"]), required=False, default=list
    )
    day = serializers.IntegerField(required=False, allow_null=True)
    confirm_warning = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Write to destinations whose drive health is warning (recorded); failing ones are refused.",
    )


class OffloadJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[OffloadJob]):
    """Offloads of the user's projects. Starting and cancelling need `ingest` (DIT, admin)."""

    serializer_class = OffloadJobSerializer
    filterset_fields = {"project__code": ["exact"], "state": ["exact"], "label": ["exact"]}

    def get_queryset(self) -> QuerySet[OffloadJob]:
        return (
            OffloadJob.objects.filter(project__in=projects_for(self.request.user))
            .select_related("project", "day")
            .prefetch_related("destinations")
        )

    @extend_schema(request=OffloadCreateSerializer, responses={201: OffloadJobSerializer, 409: None})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = OffloadCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(incoming.validated_data)
        project = access_project(request.user, data["project"], need=Cap.INGEST, refusal="offload.create")
        destinations = []
        for ref in data["destinations"]:
            volume = project.volumes.filter(label__iexact=ref).first()
            if volume is None and ref.isdigit():
                volume = project.volumes.filter(pk=int(ref)).first()
            if volume is None:
                raise ValidationError({"destinations": f"no volume {ref} in project {project.code}"})
            destinations.append(volume)
        day = None
        if data.get("day") is not None:
            day = project.days.filter(number=data["day"]).first()
            if day is None:
                raise ValidationError({"day": f"project {project.code} has no shoot day {data['day']}"})
        try:
            job = services.offload_job_create(
                actor=request.user,
                project=project,
                source=Path(data["source"]),
                destinations=destinations,
                label=data.get("label") or None,
                algorithms=data.get("hashes", []),
                day=day,
                confirm_warning=data.get("confirm_warning", False),
            )
        except services.OffloadBusyError as exc:
            running = exc.job
            return Response(
                {
                    "detail": str(exc),
                    "job": running.pk,
                    "url": request.build_absolute_uri(f"/api/offloads/{running.pk}/"),
                    "page": request.build_absolute_uri(f"/offloads/{running.pk}/"),
                },
                status=status.HTTP_409_CONFLICT,
            )
        except services.OffloadLabelError as exc:
            raise ValidationError({"label": str(exc)}) from exc
        except services.OffloadError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(OffloadJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=OffloadJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = access_offload(request.user, int(pk or 0), need=Cap.INGEST, refusal="offload.cancel")
        job = services.offload_job_cancel(actor=request.user, job=job)
        return Response(OffloadJobSerializer(job).data)

    @extend_schema(request=None, responses=OffloadJobSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Pause: a running job stops after the batch being verified; resume copies only the rest."""
        job = access_offload(request.user, int(pk or 0), need=Cap.INGEST, refusal="offload.pause")
        job = services.offload_job_pause(actor=request.user, job=job)
        return Response(OffloadJobSerializer(job).data)

    @extend_schema(request=None, responses=OffloadJobSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        job = access_offload(request.user, int(pk or 0), need=Cap.INGEST, refusal="offload.resume")
        job = services.offload_job_resume(actor=request.user, job=job)
        return Response(OffloadJobSerializer(job).data)
