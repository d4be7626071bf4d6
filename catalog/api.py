"""The catalog REST API. Views parse, authorize through permissions.py, call a service or selector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.filters import ClipFilter
from catalog.models import AuditEvent, Clip, Copy, MediaFile, Membership, Project, ShootDay, Volume
from catalog.permissions import Cap, RoleName, access_audit_event, access_project, gate, projects_for
from catalog.search import ClipSearchPaginator, clip_search_scope


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class ProjectSerializer(serializers.ModelSerializer[Project]):
    class Meta:
        model = Project
        fields = ["id", "code", "name", "required_copies", "required_media_kinds", "required_offsite"]


class ShootDaySerializer(serializers.ModelSerializer[ShootDay]):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = ShootDay
        fields = ["id", "project", "number", "date", "unit"]


class VolumeSerializer(serializers.ModelSerializer[Volume]):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="code", queryset=Project.objects.all()
    )

    class Meta:
        model = Volume
        fields = [
            "id",
            "project",
            "label",
            "kind",
            "tier",
            "host",
            "location",
            "offsite",
            "worm",
            "capacity_bytes",
            "free_bytes",
            "online",
            "health",
            "serial",
        ]
        read_only_fields = ["free_bytes"]


class CopySerializer(serializers.ModelSerializer[Copy]):
    volume = serializers.CharField(source="volume.label")
    volume_id = serializers.IntegerField()
    tier = serializers.CharField(source="volume.tier")
    host = serializers.CharField(source="volume.host")

    class Meta:
        model = Copy
        fields = ["id", "volume_id", "volume", "tier", "host", "path", "state", "hash_found", "verified_at"]


class MediaFileSerializer(serializers.ModelSerializer[MediaFile]):
    copies = CopySerializer(many=True, read_only=True)

    class Meta:
        model = MediaFile
        fields = ["id", "relative_path", "size", "mtime", "xxh128", "md5", "sha1", "copies"]


class ClipSerializer(serializers.ModelSerializer[Clip]):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    day = serializers.IntegerField(source="day.number", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Clip
        fields = [
            "id",
            "project",
            "day",
            "name",
            "camera",
            "reel",
            "scene",
            "take",
            "circled",
            "cast",
            "location",
            "lens",
            "start_tc",
            "fps",
            "duration_frames",
            "codec",
            "resolution",
            "notes",
            "iso",
            "white_balance_k",
            "shutter",
            "iris",
            "focal_length_mm",
            "sensor_fps",
            "look",
            "extra",
            "modified_at",
            "min_verified_copies",
        ]
        read_only_fields = [
            "name",
            "fps",
            "duration_frames",
            "codec",
            "resolution",
            "extra",
            "modified_at",
            "min_verified_copies",
        ]


class ClipListSerializer(ClipSerializer):
    """ClipSerializer's output, written out by hand for result pages.

    DRF's field-by-field machinery costs about 10 ms for a page of 50 clips, a
    third of a search's time; this builds the same dict directly.
    tests/catalog/test_search_api.py checks it against ClipSerializer field by field.
    """

    def to_representation(self, instance: Clip) -> dict[str, Any]:
        modified = instance.modified_at.astimezone(timezone.get_current_timezone()).isoformat()
        if modified.endswith("+00:00"):
            modified = modified[:-6] + "Z"
        return {
            "id": instance.pk,
            "project": instance.project.code,
            "day": instance.day.number if instance.day is not None else None,
            "name": instance.name,
            "camera": instance.camera,
            "reel": instance.reel,
            "scene": instance.scene,
            "take": instance.take,
            "circled": instance.circled,
            "cast": [str(actor) for actor in instance.cast],
            "location": instance.location,
            "lens": instance.lens,
            "start_tc": instance.start_tc,
            "fps": None if instance.fps is None else f"{Decimal(instance.fps).quantize(_FPS_PLACES):f}",
            "duration_frames": instance.duration_frames,
            "codec": instance.codec,
            "resolution": instance.resolution,
            "notes": instance.notes,
            "iso": instance.iso,
            "white_balance_k": instance.white_balance_k,
            "shutter": instance.shutter,
            "iris": instance.iris,
            "focal_length_mm": _decimal(instance.focal_length_mm, _FOCAL_PLACES),
            "sensor_fps": _decimal(instance.sensor_fps, _FPS_PLACES),
            "look": instance.look,
            "extra": instance.extra,
            "modified_at": modified,
            "min_verified_copies": instance.min_verified_copies,
        }


_FPS_PLACES = Decimal("0.001")  # Clip.fps and sensor_fps have three decimal places
_FOCAL_PLACES = Decimal("0.1")


def _decimal(value: Decimal | float | None, places: Decimal) -> str | None:
    """A DecimalField as DRF writes it (a string with the field's places)."""
    return None if value is None else f"{Decimal(value).quantize(places):f}"


class ClipDetailSerializer(ClipSerializer):
    files = MediaFileSerializer(many=True, read_only=True)

    class Meta(ClipSerializer.Meta):
        fields = [*ClipSerializer.Meta.fields, "files"]


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor_name",
            "source",
            "project",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "prev_hash",
            "entry_hash",
        ]


class MembershipSerializer(serializers.Serializer[Membership]):
    project = serializers.CharField(help_text="Project code.")
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=[r.value for r in RoleName], allow_null=True)


class ProjectViewSet(viewsets.ReadOnlyModelViewSet[Project]):
    serializer_class = ProjectSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Project]:
        return projects_for(self.request.user, Cap.VIEW)


class ShootDayViewSet(viewsets.ReadOnlyModelViewSet[ShootDay]):
    serializer_class = ShootDaySerializer
    filterset_fields = {"project__code": ["exact"], "number": ["exact"]}

    def get_queryset(self) -> QuerySet[ShootDay]:
        return ShootDay.objects.filter(project__in=projects_for(self.request.user)).select_related("project")


class VolumeViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet[Volume]):
    """Registered volumes. Reading needs any role; registering and changing need `ingest` (DIT, admin)."""

    serializer_class = VolumeSerializer
    filterset_fields = {"project__code": ["exact"], "kind": ["exact"], "tier": ["exact"], "online": ["exact"]}

    def get_queryset(self) -> QuerySet[Volume]:
        return selectors.volume_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer[Volume]) -> None:
        data = dict(serializer.validated_data)
        project = access_project(
            self.request.user, data.pop("project").code, need=Cap.INGEST, refusal="volume.register"
        )
        try:
            serializer.instance = services.volume_register(actor=self.request.user, project=project, **data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc

    def perform_update(self, serializer: serializers.BaseSerializer[Volume]) -> None:
        volume = serializer.instance
        assert volume is not None
        gate(self.request.user, volume.project, Cap.INGEST, refusal="volume.update", obj=volume)
        changes = {k: v for k, v in serializer.validated_data.items() if k in services.VOLUME_FIELDS}
        try:
            serializer.instance = services.volume_update(
                actor=self.request.user, volume=volume, changes=changes
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc


class ClipPagination(PageNumberPagination):
    """Page-number pages whose paginator picks the query plan by the size of the result.

    ``count`` is exact up to ``catalog.search.COUNT_CAP``; past it, ``count_exact`` is
    false and ``count`` is the cap: more than that many clips match.
    """

    django_paginator_class = ClipSearchPaginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator if self.page is not None else None
        exact = paginator.count_exact if isinstance(paginator, ClipSearchPaginator) else True
        response.data = {"count": response.data["count"], "count_exact": exact, **response.data}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when more clips match than `count` (counts stop at a bound).",
        }
        return described


class ClipViewSet(viewsets.ReadOnlyModelViewSet[Clip]):
    """Clips of the user's projects: the search page's filters, free text and ordering, paginated.

    Query parameters are those of `catalog.filters.ClipFilter` (`q`, `project`, `day`, `scene`, `take`,
    `camera`, `reel`, `cast`, `location`, `lens`, `codec`, `circled`, `copies_lt`, `modified_since`,
    `ordering`) plus `page`. The detail holds the clip's files and every copy of each.
    Editing metadata needs `edit_metadata` (editor, DIT, admin).
    """

    # Reading only: `metadata.api.ClipViewSet` adds PATCH on the same route, through the one clip-edit
    # service that also keeps the review queue in step (catalog cannot import metadata).

    filterset_class = ClipFilter
    pagination_class = ClipPagination

    def get_queryset(self) -> QuerySet[Clip]:
        queryset = clip_search_scope(user=self.request.user)
        if self.action == "retrieve":
            copies = Copy.objects.select_related("volume").order_by("volume__tier", "volume__label")
            queryset = queryset.prefetch_related(
                Prefetch("files", queryset=MediaFile.objects.order_by("relative_path")),
                Prefetch("files__copies", queryset=copies),
            )
        return queryset

    def get_serializer_class(self) -> type[ClipSerializer]:
        if self.action == "retrieve":
            return ClipDetailSerializer
        return ClipListSerializer if self.action == "list" else ClipSerializer


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet[AuditEvent]):
    """The audit log of the projects where the user may read it (admin, producer)."""

    serializer_class = AuditEventSerializer
    filterset_fields = {"action": ["exact"], "object_type": ["exact"], "object_id": ["exact"]}

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if not projects_for(self.request.user, Cap.VIEW_AUDIT).exists():
            raise PermissionDenied("Your roles do not allow reading the audit log.")
        return selectors.audit_list(user=self.request.user)

    def get_object(self) -> AuditEvent:
        # Another project's entry is 404 (its existence is not revealed), even for
        # a user who may read no audit log at all; a member's weak role is 403.
        return access_audit_event(self.request.user, int(self.kwargs["pk"]))


class MembershipViewSet(viewsets.ViewSet):
    """Grant or revoke a project role (admins of the project only)."""

    @extend_schema(request=MembershipSerializer, responses=MembershipSerializer)
    def create(self, request: Request) -> Response:
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        project = access_project(
            request.user, data["project"], need=Cap.MANAGE_MEMBERS, refusal="membership.set"
        )
        user = get_user_model().objects.filter(username=data["username"]).first()
        if user is None:
            raise ValidationError({"username": "No such user."})
        role = RoleName(data["role"]) if data["role"] else None
        services.membership_set(actor=request.user, project=project, user=user, role=role)
        return Response(
            {"project": project.code, "username": user.get_username(), "role": data["role"]},
            status=status.HTTP_200_OK,
        )
