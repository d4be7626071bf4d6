"""The producer's view over the API: day figures, sign-off, camera reports, daily reports.

Same selectors, services and gates as the pages, so both always agree:

- ``GET  /api/projects/{code}/days/``                         every day's figures
- ``GET  /api/projects/{code}/days/{day}/``                   one day (``?unit=`` when units share numbers)
- ``POST /api/projects/{code}/days/{day}/signoff/``           201; 409 with ``reasons``; 403 weak role
- ``POST /api/projects/{code}/days/{day}/reopen/``            ``{"reason": …}``
- ``DELETE /api/projects/{code}/days/{day}/expected-cards/{label}/``
- ``POST /api/projects/{code}/camera-reports/``               a camera report (JSON) → expected cards
- ``GET|POST /api/projects/{code}/reports/``, ``GET …/reports/{date}/``
- ``GET|PUT|DELETE /api/projects/{code}/reports/subscription/``
"""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import DaySignOff, ShootDay
from catalog.permissions import access_project
from dashboard import selectors, services
from dashboard.models import DailyReport
from dashboard.permissions import access_day, can_import_camera_reports, can_run_reports

UNIT = OpenApiParameter("unit", str, description="Unit of the day when several units share its number.")
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="Project code, e.g. DEMO.")
# The lists answer an array of objects: drf-spectacular wraps a list action's schema in an array,
# except for the bare OpenApiTypes.OBJECT, which it left as one object.
OBJECT_LIST = {200: {"type": "object", "additionalProperties": {}}}


def _detail_json(detail: selectors.DayDetail) -> dict[str, Any]:
    return {
        **detail.figures.as_json(),
        "short_clips": [
            {"id": clip.id, "name": clip.name, "files": clip.files, "reasons": clip.reasons}
            for clip in detail.short_clips
        ],
        "offloads": [
            {
                "id": job.pk,
                "card": job.label,
                "state": job.state,
                "percent": job.percent,
                "safe_to_format": job.safe_to_format,
                "error": job.error,
                "finished_at": job.finished_at,
            }
            for job in detail.jobs
        ],
        "failed_copies": [
            {
                "clip": copy.media_file.clip.name if copy.media_file.clip else None,
                "path": copy.media_file.relative_path,
                "volume": copy.volume.label,
                "state": copy.state,
                "error": copy.last_error,
            }
            for copy in detail.failed_copies
        ],
        "expected_cards": [
            {"label": card.label, "camera": card.camera, "clips": card.clips, "source": card.source}
            for card in detail.expected
        ],
        "history": [_signoff_json(row) for row in detail.history],
    }


def _signoff_json(row: DaySignOff) -> dict[str, Any]:
    return {
        "action": row.action,
        "by": row.actor_name,
        "at": row.at,
        "comment": row.comment,
        "released_cards": [card["label"] for card in row.released_cards],
    }


class SignOffSerializer(serializers.Serializer[DaySignOff]):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer[DaySignOff]):
    reason = serializers.CharField()


@extend_schema(parameters=[CODE])
class DayViewSet(viewsets.ViewSet):
    """Shoot days of a project with the dashboard's figures; sign-off and reopening."""

    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"

    def _day(self, request: Request, code: str, number: str) -> ShootDay:
        return access_day(request.user, code, int(number), unit=request.query_params.get("unit"))

    @extend_schema(operation_id="project_days_list", responses=OBJECT_LIST)
    def list(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        return Response([f.as_json() for f in selectors.project_days_figures(project=project)])

    @extend_schema(parameters=[UNIT], responses=OpenApiTypes.OBJECT)
    def retrieve(self, request: Request, code: str, number: str) -> Response:
        day = self._day(request, code, number)
        return Response(_detail_json(selectors.day_detail(day=day)))

    @extend_schema(parameters=[UNIT], request=SignOffSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def signoff(self, request: Request, code: str, number: str) -> Response:
        day = self._day(request, code, number)
        body = SignOffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = services.day_sign_off(actor=request.user, day=day, comment=body.validated_data["comment"])
        except services.SignOffConflict as exc:
            return Response(
                {"detail": f"{day} cannot be signed off.", "reasons": exc.reasons},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {**selectors.day_figures(day=day).as_json(), "signoff": _signoff_json(row)},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(parameters=[UNIT], request=ReopenSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, code: str, number: str) -> Response:
        day = self._day(request, code, number)
        body = ReopenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = services.day_reopen(actor=request.user, day=day, reason=body.validated_data["reason"])
        except services.DashboardError as exc:
            raise ValidationError({"reason": str(exc)}) from exc
        except services.SignOffConflict as exc:
            return Response({"detail": str(exc), "reasons": exc.reasons}, status=status.HTTP_409_CONFLICT)
        return Response({**selectors.day_figures(day=day).as_json(), "signoff": _signoff_json(row)})

    @extend_schema(parameters=[UNIT], request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"expected-cards/(?P<label>[^/]+)")
    def expected_card(self, request: Request, code: str, number: str, label: str) -> Response:
        day = self._day(request, code, number)
        if not can_import_camera_reports(request.user, day.project):
            raise PermissionDenied("Only DITs, producers and admins change the expected cards.")
        if not services.expected_card_remove(actor=request.user, day=day, label=label):
            raise NotFound(f"card {label} is not expected on {day}")
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[CODE])
class CameraReportViewSet(viewsets.ViewSet):
    """Import a camera report (ZoeLog JSON export, or ``{"cards": [...]}`` with ``?day=``)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "day", int, description="Shoot day number for every card (else by shooting date)."
            ),
            UNIT,
            OpenApiParameter("source", str, description="Name of the report, kept with the cards."),
        ],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
    )
    def create(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        if not can_import_camera_reports(request.user, project):
            raise PermissionDenied("Only DITs, producers and admins import camera reports.")
        day = None
        if request.query_params.get("day"):
            if not request.query_params["day"].isdigit():
                raise ValidationError({"day": "a shoot day number"})
            day = access_day(
                request.user, code, int(request.query_params["day"]), unit=request.query_params.get("unit")
            )
        if not isinstance(request.data, dict):
            raise ValidationError("send the camera report as a JSON object")
        try:
            imported = services.camera_report_import(
                actor=request.user,
                project=project,
                report=request.data,
                source=request.query_params.get("source", "api"),
                day=day,
            )
        except services.DashboardError as exc:
            raise ValidationError(str(exc)) from exc
        return Response(
            {
                "cards": imported.count,
                "days": [
                    {"day": d.number, "unit": d.unit, "cards": [c.label for c in cards]}
                    for d, cards in imported.by_day.items()
                ],
            },
            status=status.HTTP_201_CREATED,
        )


class ReportRequestSerializer(serializers.Serializer[DailyReport]):
    date = serializers.DateField(required=False, help_text="Default: today (REELVAULT_TIME_ZONE).")
    email = serializers.BooleanField(default=False, help_text="Email it to the subscribers now.")


def _report_json(report: DailyReport, *, with_data: bool = False) -> dict[str, Any]:
    base = f"/p/{report.project.code}/reports/{report.report_date}"
    result: dict[str, Any] = {
        "date": report.report_date,
        "trigger": report.trigger,
        "generated_at": report.generated_at,
        "html": f"{base}/",
        "pdf": f"{base}.pdf",
    }
    if with_data:
        result["data"] = report.data
    return result


@extend_schema(parameters=[CODE])
class ReportViewSet(viewsets.ViewSet):
    """Daily status reports of a project; generate one now; your subscription to the email."""

    lookup_field = "report_date"
    lookup_value_regex = r"\d{4}-\d{2}-\d{2}"

    @extend_schema(operation_id="project_reports_list", responses=OBJECT_LIST)
    def list(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        reports = selectors.report_list(project=project).select_related("project")[:100]
        return Response([_report_json(report) for report in reports])

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request: Request, code: str, report_date: str) -> Response:
        project = access_project(request.user, code)
        try:
            on = date.fromisoformat(report_date)
        except ValueError as exc:  # the URL's pattern lets 2026-13-45 through
            raise NotFound("No report of that date.") from exc
        report = DailyReport.objects.filter(project=project, report_date=on).select_related("project").first()
        if report is None:
            raise NotFound("No report of that date.")
        return Response(_report_json(report, with_data=True))

    @extend_schema(request=ReportRequestSerializer, responses=OpenApiTypes.OBJECT)
    def create(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        if not can_run_reports(request.user, project):
            raise PermissionDenied("Only admins, producers and DITs generate reports on demand.")
        body = ReportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        on: date = body.validated_data.get("date") or selectors.today()
        report = services.daily_report_generate(
            project=project, report_date=on, actor=request.user, email=body.validated_data["email"]
        )
        return Response(_report_json(report, with_data=True), status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET", "PUT", "DELETE"], request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get", "put", "delete"])
    def subscription(self, request: Request, code: str) -> Response:
        project = access_project(request.user, code)
        if request.method == "GET":
            subscribed = selectors.is_subscribed(project=project, user_id=int(request.user.pk or 0))
        else:
            subscribed = services.report_subscription_set(
                actor=request.user, project=project, subscribed=request.method == "PUT"
            )
        return Response({"project": project.code, "subscribed": subscribed})
