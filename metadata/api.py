"""Metadata API: the review queue (fix, waive), validation rules, clip edits, extraction re-runs.

Same gates and services as the pages: reading needs any role on the project;
fixing items and editing clips need ``edit_metadata`` (editor, DIT, admin);
waiving, changing rules and re-running extraction need ``ingest`` (DIT, admin).

ALE/CSV API: import (preview or apply) and export of a day or card.

``POST /api/ale-imports/`` (multipart: ``project``, ``file``, optional ``apply``,
``ignore_unknown_columns``, ``digest``) answers the plan as ``manage.py ale_import
--json`` prints it: 200 when the file is usable (applied only with ``apply``),
400 with every error and its line when it is not (nothing applied).
``GET /api/ale-exports/?project=CODE&day=N&card=LABEL&type=ale|csv`` downloads (``type``, not
``format``: DRF keeps ``format`` for choosing a renderer)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import api as catalog_api
from catalog.models import Clip, ShootDay, Volume
from catalog.permissions import Cap, access_project, gate, projects_for
from formats.ale import DEFAULT_MAX_BYTES
from metadata import extraction as metadata
from metadata import review
from metadata.ale_export import clips_export
from metadata.ale_import import ALEImportError, ale_import_apply, ale_import_preview
from metadata.filters import ReviewItemFilter
from metadata.models import IngestRules, MetadataExtraction, ReviewItem
from metadata.permissions import access_review_item
from metadata.review import revalidate_after_import
from metadata.selectors import review_item_list


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class ReviewItemSerializer(serializers.ModelSerializer[ReviewItem]):
    project = serializers.CharField(source="project.code", read_only=True)
    clip_name = serializers.CharField(source="clip.name", read_only=True, default=None, allow_null=True)
    file = serializers.CharField(
        source="media_file.relative_path", read_only=True, default=None, allow_null=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.get_username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ReviewItem
        fields = [
            "id", "project", "clip", "clip_name", "file", "kind", "field", "message", "state",
            "waiver_reason", "resolution", "resolved_by", "resolved_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class FixSerializer(serializers.Serializer[ReviewItem]):
    changes = serializers.DictField(
        required=False,
        default=dict,
        help_text='Clip fields to set, e.g. {"scene": "42"}; empty: check again.',
    )


class WaiveSerializer(serializers.Serializer[ReviewItem]):
    reason = serializers.CharField(max_length=2000)


class ReviewItemViewSet(viewsets.ReadOnlyModelViewSet[ReviewItem]):
    """Review items of the user's projects, oldest first.

    Filters (`metadata.filters.ReviewItemFilter`, as on the review page): `project` (code), `state`
    (`all` for every state), `kind`, `clip` (id), `card`, `day`, `q` (clip name or message).
    """

    serializer_class = ReviewItemSerializer
    filterset_class = ReviewItemFilter

    def get_queryset(self) -> QuerySet[ReviewItem]:
        # Filtered by the filter backend, which answers 400 for a value that does not parse.
        return review_item_list(user=self.request.user, ordering=("id",))

    @extend_schema(request=FixSerializer, responses=ReviewItemSerializer)
    @action(detail=True, methods=["post"])
    def fix(self, request: Request, pk: str | None = None) -> Response:
        item = access_review_item(request.user, int(pk or 0), need=Cap.EDIT_METADATA, refusal="review.fix")
        incoming = FixSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            item = review.review_item_fix(
                actor=request.user, item=item, changes=incoming.validated_data["changes"]
            )
        except (review.ReviewError, ValueError) as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(ReviewItemSerializer(item).data)

    @extend_schema(request=WaiveSerializer, responses=ReviewItemSerializer)
    @action(detail=True, methods=["post"])
    def waive(self, request: Request, pk: str | None = None) -> Response:
        item = access_review_item(request.user, int(pk or 0), need=Cap.INGEST, refusal="review.waive")
        incoming = WaiveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            item = review.review_item_waive(
                actor=request.user, item=item, reason=incoming.validated_data["reason"]
            )
        except review.ReviewError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(ReviewItemSerializer(item).data)


class IngestRulesSerializer(serializers.ModelSerializer[IngestRules]):
    project = serializers.CharField(source="project.code", read_only=True)
    updated_by = serializers.CharField(source="updated_by.get_username", read_only=True, default=None)
    allowed_values = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    camera_rules = serializers.DictField(child=serializers.DictField(), required=False)

    class Meta:
        model = IngestRules
        fields = [
            "project", "naming_pattern", "required_fields", "allowed_values", "known_cameras", "camera_rules",
            "require_sidecar", "updated_at", "updated_by",
        ]  # fmt: skip
        read_only_fields = ["project", "updated_at", "updated_by"]


class IngestRulesViewSet(viewsets.GenericViewSet[IngestRules]):
    """A project's naming schema and validation rules, at `/api/ingest-rules/<CODE>/`.

    `PUT` replaces them (DIT, admin) and re-validates every clip; the answer says how the queue changed.
    """

    serializer_class = IngestRulesSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"

    def get_queryset(self) -> QuerySet[IngestRules]:
        return IngestRules.objects.filter(project__in=projects_for(self.request.user))

    def get_object(self) -> IngestRules:
        # OPTIONS asks for the object; the rules are found through the project's gate, not by a field.
        return review.rules_for(access_project(self.request.user, self.kwargs.get("code") or ""))

    def retrieve(self, request: Request, code: str | None = None) -> Response:
        project = access_project(request.user, code or "")
        return Response(IngestRulesSerializer(review.rules_for(project)).data)

    @extend_schema(request=IngestRulesSerializer, responses=IngestRulesSerializer)
    def update(self, request: Request, code: str | None = None) -> Response:
        project = access_project(request.user, code or "", need=Cap.INGEST, refusal="ingest_rules.update")
        incoming = IngestRulesSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            rules, counts = review.ingest_rules_update(
                actor=request.user,
                project=project,
                naming_pattern=data.get("naming_pattern", ""),
                required_fields=data.get("required_fields", []),
                allowed_values=data.get("allowed_values", {}),
                known_cameras=data.get("known_cameras", []),
                camera_rules=data.get("camera_rules", {}),
                require_sidecar=data.get("require_sidecar", False),
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response({**IngestRulesSerializer(rules).data, "review": counts.as_dict()})


class ClipEditSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(help_text="Project code.")
    clips = serializers.ListField(child=serializers.IntegerField(), min_length=1, help_text="Clip ids.")
    changes = serializers.DictField(help_text='Fields to set on every clip, e.g. {"scene": "42"}.')


class ClipEditViewSet(viewsets.GenericViewSet[Any]):
    """Set the same metadata on one clip or a selection; each changed clip is audited with before/after."""

    serializer_class = ClipEditSerializer

    @extend_schema(request=ClipEditSerializer, responses={200: dict})
    def create(self, request: Request) -> Response:
        incoming = ClipEditSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        project = access_project(request.user, data["project"], need=Cap.EDIT_METADATA, refusal="clip.update")
        try:
            result = review.clip_metadata_bulk_edit(
                actor=request.user, project=project, clip_ids=data["clips"], changes=data["changes"]
            )
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response({"changed": result.changed, "unchanged": result.unchanged})


class ClipViewSet(mixins.UpdateModelMixin, catalog_api.ClipViewSet):
    # The docstring is the OpenAPI description of /api/clips/: the same as catalog's read-only viewset.
    __doc__ = catalog_api.ClipViewSet.__doc__

    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer: serializers.BaseSerializer[Clip]) -> None:
        """PATCH: the same edit service as the pages and /api/clip-edits/ (checked, audited, re-validated)."""
        clip = serializer.instance
        assert clip is not None
        gate(self.request.user, clip.project, Cap.EDIT_METADATA, refusal="clip.update", obj=clip)
        changes = dict(serializer.validated_data)
        if changes:
            try:
                review.clip_metadata_bulk_edit(
                    actor=self.request.user, project=clip.project, clip_ids=[clip.pk], changes=changes
                )
            except ValueError as exc:
                raise ValidationError({"detail": str(exc)}) from exc
            except DjangoValidationError as exc:
                raise _django_errors(exc) from exc
        clip.refresh_from_db()


class ExtractionSerializer(serializers.ModelSerializer[MetadataExtraction]):
    clip_name = serializers.CharField(source="clip.name", read_only=True)

    class Meta:
        model = MetadataExtraction
        fields = [
            "clip",
            "clip_name",
            "state",
            "queue",
            "queued_at",
            "started_at",
            "finished_at",
            "attempts",
            "problems",
            "error",
        ]
        read_only_fields = fields


class RerunSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(help_text="Project code.")
    card = serializers.CharField(required=False, allow_blank=True, help_text="Card label.")
    day = serializers.IntegerField(required=False, allow_null=True, help_text="Shoot day number.")
    clips = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Names."
    )


class MetadataExtractionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[MetadataExtraction]):
    """Extraction jobs per clip (filter: `project`, `state`); `POST` queues extraction again (DIT, admin)."""

    serializer_class = ExtractionSerializer

    def get_queryset(self) -> QuerySet[MetadataExtraction]:
        jobs = MetadataExtraction.objects.filter(
            clip__project__in=projects_for(self.request.user)
        ).select_related("clip")
        params = self.request.query_params
        if params.get("project"):
            jobs = jobs.filter(clip__project__code=params["project"].upper())
        if params.get("state"):
            jobs = jobs.filter(state=params["state"])
        return jobs.order_by("clip__name")

    @extend_schema(request=RerunSerializer, responses={202: dict})
    def create(self, request: Request) -> Response:
        incoming = RerunSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        project = access_project(
            request.user, data["project"], need=Cap.INGEST, refusal="clip.extract_requested"
        )
        card: Volume | None = None
        day: ShootDay | None = None
        if data.get("card"):
            card = project.volumes.filter(label__iexact=data["card"]).first()
            if card is None:
                raise ValidationError({"card": f"no card {data['card']} in project {project.code}"})
        if data.get("day") is not None:
            day = project.days.filter(number=data["day"]).first()
            if day is None:
                raise ValidationError({"day": f"project {project.code} has no shoot day {data['day']}"})
        if card is None and day is None and not data["clips"]:
            raise ValidationError({"detail": "name a card, a day or clips"})
        sent = metadata.clip_metadata_rerun(
            actor=request.user, project=project, card=card, day=day, names=data["clips"]
        )
        return Response({"queued": sum(sent.values()), "queues": sent}, status=status.HTTP_202_ACCEPTED)


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
        # A preview changes nothing; a refused apply is an attempted write, and audited.
        refusal = "ale.import" if data["apply"] else ""
        project = access_project(request.user, data["project"], need=Cap.EDIT_METADATA, refusal=refusal)
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
        response["Content-Disposition"] = content_disposition_header(True, export.filename)
        return response
