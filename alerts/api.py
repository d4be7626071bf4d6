"""Alerts API: list and read the alerts of one's projects; acknowledge and resolve them."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import selectors, services
from alerts.models import Alert
from alerts.permissions import access_alert


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The alert is not in a state that allows this."
    default_code = "conflict"


class AlertSerializer(serializers.ModelSerializer[Alert]):
    project = serializers.CharField(source="project.code", read_only=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, allow_null=True, default=None
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "project",
            "key",
            "kind",
            "severity",
            "state",
            "title",
            "body",
            "link",
            "details",
            "occurrences",
            "first_seen_at",
            "last_seen_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledge_note",
            "escalated_at",
            "resolved_at",
            "resolved_by",
            "resolution",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer[Alert]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ResolveSerializer(serializers.Serializer[Alert]):
    resolution = serializers.CharField(help_text="What was done.")


class AlertViewSet(viewsets.ReadOnlyModelViewSet[Alert]):
    """Alerts of the projects you are a member of. Filter with ?project__code=FILM&state=open."""

    serializer_class = AlertSerializer
    filterset_fields = {
        "project__code": ["exact"],
        "state": ["exact"],
        "severity": ["exact"],
        "kind": ["exact"],
    }

    def get_queryset(self) -> QuerySet[Alert]:
        return selectors.alert_list(user=self.request.user)

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        alert = access_alert(request.user, int(pk), handle="acknowledge")
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = services.alert_acknowledge(
                actor=request.user, alert=alert, note=body.validated_data["note"]
            )
        except services.AlertError as exc:
            raise Conflict(str(exc)) from exc
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=ResolveSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        alert = access_alert(request.user, int(pk), handle="resolve")
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = services.alert_resolve(
                actor=request.user, alert=alert, resolution=body.validated_data["resolution"]
            )
        except services.AlertError as exc:
            raise Conflict(str(exc)) from exc
        return Response(AlertSerializer(alert).data)
