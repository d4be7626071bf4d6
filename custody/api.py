"""Custody API: the registry (register, edit), handoffs (hand over, receive) and SMART readings.

Same services and gates as the pages: the API cannot do what the pages refuse.
Volumes are addressed by their catalog id, as on the pages (``/volumes/<id>/``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Volume
from catalog.permissions import access_project, projects_for
from custody import services
from custody.models import Handoff, SmartReading, VolumeRecord
from custody.permissions import MANAGE, access_custody_volume, access_handoff, access_handoff_receive


def _errors(exc: Exception) -> ValidationError:
    if isinstance(exc, DjangoValidationError):
        return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return ValidationError({"detail": str(exc)})


class CustodyVolumeSerializer(serializers.ModelSerializer[VolumeRecord]):
    id = serializers.IntegerField(source="volume.pk", read_only=True)
    project = serializers.CharField(source="project.code", read_only=True)
    label = serializers.CharField(source="volume.label", read_only=True)  # type: ignore[assignment]  # the field is called label
    kind = serializers.CharField(source="volume.kind", read_only=True)
    tier = serializers.CharField(source="volume.tier", read_only=True)
    host = serializers.CharField(source="volume.host", read_only=True)
    location = serializers.CharField(source="volume.location", read_only=True)
    offsite = serializers.BooleanField(source="volume.offsite", read_only=True)
    worm = serializers.BooleanField(source="volume.worm", read_only=True)
    capacity_bytes = serializers.IntegerField(source="volume.capacity_bytes", read_only=True, allow_null=True)
    free_bytes = serializers.IntegerField(source="volume.free_bytes", read_only=True, allow_null=True)
    online = serializers.BooleanField(source="volume.online", read_only=True)
    health = serializers.CharField(source="volume.health", read_only=True)
    serial = serializers.CharField(source="volume.serial", read_only=True)

    class Meta:
        model = VolumeRecord
        fields = [
            "id",
            "identifier",
            "identity",
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
            "site",
            "drive_model",
            "purchase_date",
            "owner",
            "notes",
            "device",
            "seal_problem",
            "created_at",
        ]
        read_only_fields = fields


class VolumeRegisterSerializer(serializers.Serializer[dict[str, Any]]):
    project = serializers.CharField(help_text="Project code, e.g. DEMO.")
    kind = serializers.ChoiceField(choices=Volume.Kind.choices)
    pattern = serializers.CharField(default=services.DEFAULT_PATTERN, max_length=64)
    label = serializers.CharField(required=False, default="", allow_blank=True, max_length=64)  # type: ignore[assignment]  # the field is called label
    tier = serializers.ChoiceField(choices=Volume.Tier.choices, default=Volume.Tier.HOT)
    host = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)
    location = serializers.CharField(max_length=1024)
    offsite = serializers.BooleanField(default=False)
    worm = serializers.BooleanField(default=False)
    capacity_bytes = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**63 - 1
    )
    serial = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    site = serializers.CharField(required=False, default="", allow_blank=True, max_length=120)
    drive_model = serializers.CharField(required=False, default="", allow_blank=True, max_length=120)
    purchase_date = serializers.DateField(required=False, allow_null=True, default=None)
    owner = serializers.CharField(required=False, default="", allow_blank=True, max_length=120)
    notes = serializers.CharField(required=False, default="", allow_blank=True)
    device = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)


class VolumeUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    identifier = serializers.CharField(required=False, max_length=64)
    label = serializers.CharField(required=False, max_length=64)  # type: ignore[assignment]  # the field is called label
    tier = serializers.ChoiceField(choices=Volume.Tier.choices, required=False)
    host = serializers.CharField(required=False, allow_blank=True, max_length=255)
    location = serializers.CharField(required=False, max_length=1024)
    offsite = serializers.BooleanField(required=False)
    worm = serializers.BooleanField(required=False)
    capacity_bytes = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**63 - 1
    )
    serial = serializers.CharField(required=False, allow_blank=True, max_length=100)
    site = serializers.CharField(required=False, allow_blank=True, max_length=120)
    drive_model = serializers.CharField(required=False, allow_blank=True, max_length=120)
    purchase_date = serializers.DateField(required=False, allow_null=True)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=120)
    notes = serializers.CharField(required=False, allow_blank=True)
    device = serializers.CharField(required=False, allow_blank=True, max_length=255)
    seal_problem = serializers.CharField(
        required=False, allow_blank=True, help_text="Send an empty string to clear a seal flag."
    )


class HandoffSerializer(serializers.ModelSerializer[Handoff]):
    project = serializers.CharField(source="project.code", read_only=True)
    volume = serializers.IntegerField(source="volume_id", read_only=True)
    from_name = serializers.CharField(read_only=True)
    to_name = serializers.CharField(read_only=True)
    received_by = serializers.CharField(
        source="received_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Handoff
        fields = [
            "id",
            "project",
            "volume",
            "from_name",
            "to_name",
            "handed_at",
            "where",
            "seals_applied",
            "condition",
            "state",
            "received_at",
            "received_by",
            "seals_found",
            "seal_mismatch",
            "receive_note",
        ]
        read_only_fields = fields


class HandoffCreateSerializer(serializers.Serializer[dict[str, Any]]):
    volume = serializers.IntegerField(help_text="Volume id.")
    to_user = serializers.CharField(required=False, default="", allow_blank=True, help_text="Username.")
    to_place = serializers.CharField(required=False, default="", allow_blank=True, max_length=120)
    from_user = serializers.CharField(required=False, default="", allow_blank=True, help_text="Username.")
    from_place = serializers.CharField(required=False, default="", allow_blank=True, max_length=120)
    handed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    where = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    seals = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)
    condition = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class HandoffReceiveSerializer(serializers.Serializer[dict[str, Any]]):
    seals_found = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list
    )
    note = serializers.CharField(required=False, default="", allow_blank=True)


class SmartReadingSerializer(serializers.ModelSerializer[SmartReading]):
    volume = serializers.IntegerField(source="volume_id", read_only=True)

    class Meta:
        model = SmartReading
        fields = [
            "id",
            "volume",
            "taken_at",
            "host",
            "device",
            "verdict",
            "reasons",
            "error",
            "drive_model",
            "serial",
            "passed",
            "power_on_hours",
            "temperature_c",
            "reallocated_sectors",
            "pending_sectors",
            "crc_errors",
            "nvme_percentage_used",
            "nvme_media_errors",
            "exit_status",
        ]
        read_only_fields = fields


_PROJECT = OpenApiParameter("project", str, description="Project code")
_VOLUME = OpenApiParameter("volume", int, description="Volume id")


def _user(username: str, field: str) -> AbstractBaseUser | None:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({field: f"no user {username!r}"})
    return user


class CustodyVolumeViewSet(viewsets.GenericViewSet[VolumeRecord]):
    """The registry: volumes with their identifiers. Reading needs any role; writing `ingest` (DIT, admin)."""

    serializer_class = CustodyVolumeSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[VolumeRecord]:
        queryset = VolumeRecord.objects.filter(project__in=projects_for(self.request.user)).select_related(
            "volume", "project"
        )
        code = self.request.query_params.get("project")
        return queryset.filter(project__code=code.upper()) if code else queryset

    @extend_schema(parameters=[_PROJECT])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CustodyVolumeSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        volume = access_custody_volume(request.user, int(pk or 0))
        record = VolumeRecord.objects.select_related("volume", "project").filter(volume=volume).first()
        if record is None:
            raise ValidationError({"detail": "this volume has no identifier yet; edit it to give it one"})
        return Response(CustodyVolumeSerializer(record).data)

    @extend_schema(request=VolumeRegisterSerializer, responses={201: CustodyVolumeSerializer})
    def create(self, request: Request) -> Response:
        incoming = VolumeRegisterSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        project = access_project(request.user, data.pop("project"), need=MANAGE)
        try:
            record = services.volume_record_register(actor=request.user, project=project, **data)
        except (services.CustodyError, DjangoValidationError) as exc:
            raise _errors(exc) from exc
        return Response(CustodyVolumeSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VolumeUpdateSerializer, responses=CustodyVolumeSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        volume = access_custody_volume(request.user, int(pk or 0), need=MANAGE)
        incoming = VolumeUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            record = VolumeRecord.objects.filter(volume=volume).first() or services.volume_record_attach(
                actor=request.user, volume=volume
            )
            record = services.volume_record_update(
                actor=request.user, record=record, changes=dict(incoming.validated_data)
            )
        except (services.CustodyError, DjangoValidationError) as exc:
            raise _errors(exc) from exc
        record = VolumeRecord.objects.select_related("volume", "project").get(pk=record.pk)
        return Response(CustodyVolumeSerializer(record).data)


class HandoffViewSet(viewsets.GenericViewSet[Handoff]):
    """Custody handoffs: hand over (`ingest`), receive (`ingest` or the named receiver), read (any role)."""

    serializer_class = HandoffSerializer

    def get_queryset(self) -> QuerySet[Handoff]:
        queryset = Handoff.objects.filter(project__in=projects_for(self.request.user)).select_related(
            "project", "from_user", "to_user", "received_by"
        )
        params = self.request.query_params
        if params.get("project"):
            queryset = queryset.filter(project__code=params["project"].upper())
        if params.get("volume", "").isdigit():
            queryset = queryset.filter(volume_id=int(params["volume"]))
        if params.get("state"):
            queryset = queryset.filter(state=params["state"])
        return queryset

    @extend_schema(
        parameters=[_PROJECT, _VOLUME, OpenApiParameter("state", str, enum=list(Handoff.State.values))]
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(HandoffSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(HandoffSerializer(access_handoff(request.user, int(pk or 0))).data)

    @extend_schema(request=HandoffCreateSerializer, responses={201: HandoffSerializer})
    def create(self, request: Request) -> Response:
        incoming = HandoffCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        volume = access_custody_volume(request.user, data.pop("volume"), need=MANAGE)
        try:
            handoff = services.handoff_create(
                actor=request.user,
                volume=volume,
                to_user=_user(data.pop("to_user"), "to_user"),
                from_user=_user(data.pop("from_user"), "from_user"),
                **data,
            )
        except (services.CustodyError, DjangoValidationError) as exc:
            raise _errors(exc) from exc
        return Response(HandoffSerializer(handoff).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=HandoffReceiveSerializer, responses=HandoffSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, pk: str | None = None) -> Response:
        handoff = access_handoff_receive(request.user, int(pk or 0))
        incoming = HandoffReceiveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            handoff = services.handoff_receive(
                actor=request.user,
                handoff=handoff,
                seals_found=incoming.validated_data["seals_found"],
                note=incoming.validated_data["note"],
            )
        except services.CustodyError as exc:
            raise _errors(exc) from exc
        return Response(HandoffSerializer(handoff).data)


class SmartReadingViewSet(viewsets.ReadOnlyModelViewSet[SmartReading]):
    """SMART readings of the volumes of the user's projects, newest first (`?volume=<id>`)."""

    serializer_class = SmartReadingSerializer

    def get_queryset(self) -> QuerySet[SmartReading]:
        queryset = SmartReading.objects.filter(volume__project__in=projects_for(self.request.user))
        volume = self.request.query_params.get("volume", "")
        return queryset.filter(volume_id=int(volume)) if volume.isdigit() else queryset

    @extend_schema(parameters=[_VOLUME])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
