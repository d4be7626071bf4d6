"""Incidents and checklists API: the same gate and role rules as the pages.

- ``/api/incidents/``: the incidents of one's projects (filter ``?project__code=FILM&state=open``);
  POST opens one (``Cap.ACKNOWLEDGE_ALERTS``); ``note``, ``lesson`` (``Cap.MANAGE_RECOVERY`` when it
  edits the runbook) and ``resolve`` actions.
- ``/api/checklists/``: the checklists of one's projects; ``complete`` records a completion
  by the checklist's role (or an admin).
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Volume
from catalog.permissions import Cap, access_project, projects_for
from recovery import services
from recovery.models import Checklist, ChecklistItem, ChecklistRun, Incident, IncidentEvent, Lesson
from recovery.permissions import access_checklist, access_incident


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The incident or checklist does not allow this."
    default_code = "conflict"


def _conflict(exc: services.IncidentError) -> Conflict:
    return Conflict(str(exc))


class IncidentEventSerializer(serializers.ModelSerializer[IncidentEvent]):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = IncidentEvent
        fields = ["at", "kind", "text", "author", "link"]
        read_only_fields = fields


class LessonSerializer(serializers.ModelSerializer[Lesson]):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Lesson
        fields = ["id", "text", "action", "created_by", "created_at"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    project = serializers.CharField(source="project.code", read_only=True)
    opened_by = serializers.CharField(
        source="opened_by.username", read_only=True, allow_null=True, default=None
    )
    people = serializers.SerializerMethodField()
    events = IncidentEventSerializer(many=True, read_only=True)
    lessons = LessonSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "project",
            "title",
            "state",
            "cause",
            "summary",
            "alert",
            "opened_by",
            "opened_at",
            "people",
            "clips_affected",
            "days_affected",
            "hours_lost",
            "impact",
            "resolution",
            "resolved_at",
            "events",
            "lessons",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_people(self, incident: Incident) -> list[str]:
        return sorted(person.get_username() for person in incident.people.all())


class IncidentOpenSerializer(serializers.Serializer[Incident]):
    project = serializers.CharField(help_text="Project code.")
    title = serializers.CharField(max_length=200)
    cause = serializers.ChoiceField(choices=Incident.Cause.choices, default=Incident.Cause.OTHER)
    summary = serializers.CharField(required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer[IncidentEvent]):
    text = serializers.CharField()


class LessonAddSerializer(serializers.Serializer[Lesson]):
    text = serializers.CharField(help_text="What was learned.")
    action = serializers.CharField(required=False, allow_blank=True, default="")
    runbook_tier = serializers.ChoiceField(
        choices=Volume.Tier.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="The tier whose runbook section this lesson rewrites (needs the manage-recovery role).",
    )
    who = serializers.CharField(required=False, allow_blank=True, default="")
    steps = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentResolveSerializer(serializers.Serializer[Incident]):
    resolution = serializers.CharField(help_text="What was done.")


class IncidentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Incident],
):
    """Incidents of the projects you are a member of; open one, add notes and lessons, resolve it."""

    serializer_class = IncidentSerializer
    filterset_fields = {"project__code": ["exact"], "state": ["exact"], "cause": ["exact"]}

    def get_queryset(self) -> QuerySet[Incident]:
        return (
            Incident.objects.filter(project__in=projects_for(self.request.user, Cap.VIEW))
            .select_related("project", "opened_by")
            .prefetch_related("people", "events__author", "lessons__created_by")
        )

    def _fresh(self, incident_id: int) -> Response:
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident_id)).data)

    @extend_schema(request=IncidentOpenSerializer, responses={201: IncidentSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        body = IncidentOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        project = access_project(
            request.user, data["project"], need=Cap.ACKNOWLEDGE_ALERTS, refusal="incident.open"
        )
        try:
            incident = services.incident_open(
                actor=request.user,
                project=project,
                title=data["title"],
                cause=data["cause"],
                summary=data["summary"],
            )
        except services.IncidentError as exc:
            raise _conflict(exc) from exc
        response = self._fresh(incident.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=NoteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request: Request, pk: str) -> Response:
        incident = access_incident(
            request.user, int(pk), need=Cap.ACKNOWLEDGE_ALERTS, refusal="incident.note"
        )
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.incident_note_add(
                actor=request.user, incident=incident, text=body.validated_data["text"]
            )
        except services.IncidentError as exc:
            raise _conflict(exc) from exc
        return self._fresh(incident.pk)

    @extend_schema(request=LessonAddSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def lesson(self, request: Request, pk: str) -> Response:
        body = LessonAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        tier = data["runbook_tier"]
        need = Cap.MANAGE_RECOVERY if tier else Cap.ACKNOWLEDGE_ALERTS
        incident = access_incident(request.user, int(pk), need=need, refusal="incident.lesson")
        runbook = (
            services.SectionText(tier=tier, who=data["who"], steps=data["steps"], notes=data["notes"])
            if tier
            else None
        )
        try:
            services.lesson_add(
                actor=request.user,
                incident=incident,
                text=data["text"],
                action=data["action"],
                runbook=runbook,
            )
        except services.IncidentError as exc:
            raise _conflict(exc) from exc
        return self._fresh(incident.pk)

    @extend_schema(request=IncidentResolveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        incident = access_incident(
            request.user, int(pk), need=Cap.ACKNOWLEDGE_ALERTS, refusal="incident.resolve"
        )
        body = IncidentResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.incident_resolve(
                actor=request.user, incident=incident, resolution=body.validated_data["resolution"]
            )
        except services.IncidentError as exc:
            raise _conflict(exc) from exc
        return self._fresh(incident.pk)


class ChecklistItemSerializer(serializers.ModelSerializer[ChecklistItem]):
    class Meta:
        model = ChecklistItem
        fields = ["id", "position", "text"]
        read_only_fields = fields


class ChecklistSerializer(serializers.ModelSerializer[Checklist]):
    project = serializers.CharField(source="project.code", read_only=True)
    items = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = Checklist
        fields = ["id", "project", "name", "kind", "role", "required_for_signoff", "items"]
        read_only_fields = fields


class ChecklistRunSerializer(serializers.ModelSerializer[ChecklistRun]):
    checklist = serializers.CharField(source="checklist.name", read_only=True)
    day = serializers.IntegerField(source="day.number", read_only=True, allow_null=True, default=None)
    completed_by = serializers.CharField(source="completed_by.username", read_only=True)

    class Meta:
        model = ChecklistRun
        fields = ["id", "checklist", "day", "completed_by", "completed_at", "items", "note"]
        read_only_fields = fields


class ChecklistCompleteSerializer(serializers.Serializer[ChecklistRun]):
    item_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the ticked items: every item, or 409."
    )
    day = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Shoot day number."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ChecklistViewSet(viewsets.ReadOnlyModelViewSet[Checklist]):
    """Checklists of the projects you are a member of; ``complete`` records a completion."""

    serializer_class = ChecklistSerializer
    filterset_fields = {"project__code": ["exact"], "kind": ["exact"], "role": ["exact"]}

    def get_queryset(self) -> QuerySet[Checklist]:
        return (
            Checklist.objects.filter(project__in=projects_for(self.request.user, Cap.VIEW))
            .select_related("project")
            .prefetch_related("items")
        )

    @extend_schema(request=ChecklistCompleteSerializer, responses={201: ChecklistRunSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        checklist = access_checklist(request.user, int(pk), complete=True)
        body = ChecklistCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        day = None
        if data["day"] is not None:
            day = checklist.project.days.filter(number=data["day"]).order_by("unit").first()
            if day is None:
                raise Conflict(f"no shoot day {data['day']} in {checklist.project.code}")
        try:
            run = services.checklist_complete(
                actor=request.user, checklist=checklist, ticked=data["item_ids"], day=day, note=data["note"]
            )
        except services.IncidentError as exc:
            raise _conflict(exc) from exc
        return Response(ChecklistRunSerializer(run).data, status=status.HTTP_201_CREATED)
