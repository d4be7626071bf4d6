"""ALE/CSV API: import (preview or apply) and export of a day or card.

``POST /api/ale-imports/`` (multipart: ``project``, ``file``, optional ``apply``,
``ignore_unknown_columns``, ``digest``) answers the plan as ``manage.py ale_import
--json`` prints it: 200 when the file is usable (applied only with ``apply``),
400 with every error and its line when it is not (nothing applied).
``GET /api/ale-exports/?project=CODE&day=N&card=LABEL&type=ale|csv`` downloads (``type``, not
``format``: DRF keeps ``format`` for choosing a renderer).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.ale import DEFAULT_MAX_BYTES
from catalog.ale_export import clips_export
from catalog.ale_import import ALEImportError, ale_import_apply, ale_import_preview
from catalog.models import ShootDay, Volume
from catalog.permissions import Cap, access_project
from ingest.review import revalidate_after_import


class AleImportSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(help_text="Project code.")
    file = serializers.FileField(help_text="The .ale or .csv file (up to 50 MB).")
    apply = serializers.BooleanField(
        required=False, default=False, help_text="Apply (default: preview only)."
    )
    ignore_unknown_columns = serializers.BooleanField(required=False, default=False)
    digest = serializers.CharField(
        required=False, allow_blank=True, help_text="The preview's digest: refuse to apply anything else."
    )


class AleImportViewSet(viewsets.GenericViewSet[Any]):
    """Preview or apply an ALE/CSV import (editor, DIT, admin)."""

    serializer_class = AleImportSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": AleImportSerializer}, responses={200: dict, 400: dict})
    def create(self, request: Request) -> Response:
        incoming = AleImportSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        project = access_project(request.user, data["project"], need=Cap.EDIT_METADATA)
        upload = data["file"]
        content = upload.read(DEFAULT_MAX_BYTES + 1)
        name = upload.name or "upload.ale"
        ignore = data["ignore_unknown_columns"]
        if data["apply"]:
            try:
                plan = ale_import_apply(
                    actor=request.user,
                    project=project,
                    data=content,
                    filename=name,
                    ignore_unknown_columns=ignore,
                    expect_digest=data.get("digest") or None,
                    after_apply=revalidate_after_import(request.user),
                )
            except ALEImportError as exc:
                plan = exc.plan
        else:
            plan = ale_import_preview(
                project=project, data=content, filename=name, ignore_unknown_columns=ignore
            )
        return Response(plan.to_dict(), status=status.HTTP_200_OK if plan.ok else status.HTTP_400_BAD_REQUEST)


class AleExportViewSet(viewsets.GenericViewSet[Any]):
    """Download the clips of a day and/or card as ALE or CSV (any role on the project; audited)."""

    serializer_class = serializers.Serializer

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str, required=True),
            OpenApiParameter("day", int),
            OpenApiParameter("card", str),
            OpenApiParameter("type", str, enum=["ale", "csv"], description="File type (default ale)."),
        ],
        responses={(200, "text/plain"): bytes},
    )
    def list(self, request: Request) -> HttpResponse:
        params = request.query_params
        project = access_project(request.user, params.get("project", ""))
        fmt = params.get("type", "ale")
        if fmt not in ("ale", "csv"):
            raise ValidationError({"type": "use ale or csv"})
        day: ShootDay | None = None
        card: Volume | None = None
        if params.get("day"):
            if not params["day"].isdigit():
                raise ValidationError({"day": "a shoot day number"})
            day = project.days.filter(number=int(params["day"])).first()
            if day is None:
                raise ValidationError({"day": f"project {project.code} has no shoot day {params['day']}"})
        if params.get("card"):
            card = project.volumes.filter(label__iexact=params["card"]).first()
            if card is None:
                raise ValidationError({"card": f"no card {params['card']} in project {project.code}"})
        try:
            export = clips_export(actor=request.user, project=project, fmt=fmt, day=day, card=card)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        response = HttpResponse(export.data, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response
