"""The catalog REST API. Views parse, authorize through permissions.py, call a service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import AuditEvent, Clip, Copy, MediaFile, Membership, Project, ShootDay, Volume
from catalog.permissions import Cap, RoleName, access_project, projects_for, user_can


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
            "extra",
            "modified_at",
        ]
        read_only_fields = ["name", "fps", "duration_frames", "codec", "resolution", "extra", "modified_at"]


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
        project = access_project(self.request.user, data.pop("project").code, need=Cap.INGEST)
        try:
            serializer.instance = services.volume_register(actor=self.request.user, project=project, **data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc

    def perform_update(self, serializer: serializers.BaseSerializer[Volume]) -> None:
        volume = serializer.instance
        assert volume is not None
        if not user_can(self.request.user, volume.project_id, Cap.INGEST):
            raise PermissionDenied("Your role does not allow changing volumes.")
        changes = {k: v for k, v in serializer.validated_data.items() if k in services.VOLUME_FIELDS}
        try:
            serializer.instance = services.volume_update(
                actor=self.request.user, volume=volume, changes=changes
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc


class ClipFilter(filters.FilterSet):  # type: ignore[misc]  # django-filter ships no types
    project = filters.CharFilter(field_name="project__code", lookup_expr="iexact")
    day = filters.NumberFilter(field_name="day__number")
    scene = filters.CharFilter(lookup_expr="iexact")
    take = filters.CharFilter(lookup_expr="iexact")
    camera = filters.CharFilter(lookup_expr="iexact")
    reel = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Clip
        fields = ["project", "day", "scene", "take", "camera", "reel", "circled"]


class ClipViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet[Clip]):
    """Clips of the user's projects; editing metadata needs `edit_metadata` (editor, DIT, admin)."""

    filterset_class = ClipFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Clip]:
        queryset = selectors.clip_list(user=self.request.user).order_by("name", "id")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("files__copies__volume")
        return queryset

    def get_serializer_class(self) -> type[ClipSerializer]:
        return ClipDetailSerializer if self.action == "retrieve" else ClipSerializer

    def perform_update(self, serializer: serializers.BaseSerializer[Clip]) -> None:
        clip = serializer.instance
        assert clip is not None
        if not user_can(self.request.user, clip.project_id, Cap.EDIT_METADATA):
            raise PermissionDenied("Your role does not allow editing clip metadata.")
        changes = {k: v for k, v in serializer.validated_data.items() if k in services.EDITABLE_CLIP_FIELDS}
        try:
            serializer.instance = services.clip_update(actor=self.request.user, clip=clip, changes=changes)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet[AuditEvent]):
    """The audit log of the projects where the user may read it (admin, producer)."""

    serializer_class = AuditEventSerializer
    filterset_fields = {"action": ["exact"], "object_type": ["exact"], "object_id": ["exact"]}

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if not projects_for(self.request.user, Cap.VIEW_AUDIT).exists():
            raise PermissionDenied("Your roles do not allow reading the audit log.")
        return selectors.audit_list(user=self.request.user)


class MembershipViewSet(viewsets.ViewSet):
    """Grant or revoke a project role (admins of the project only)."""

    @extend_schema(request=MembershipSerializer, responses=MembershipSerializer)
    def create(self, request: Request) -> Response:
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        project = access_project(request.user, data["project"], need=Cap.MANAGE_MEMBERS)
        user = get_user_model().objects.filter(username=data["username"]).first()
        if user is None:
            raise ValidationError({"username": "No such user."})
        role = RoleName(data["role"]) if data["role"] else None
        services.membership_set(actor=request.user, project=project, user=user, role=role)
        return Response(
            {"project": project.code, "username": user.get_username(), "role": data["role"]},
            status=status.HTTP_200_OK,
        )
