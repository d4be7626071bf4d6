"""The API router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from typing import Any

from rest_framework.routers import DefaultRouter

from alerts import api as alerts_api
from catalog import api as catalog_api
from custody import api as custody_api
from dashboard import api as dashboard_api
from fixity import api as fixity_api
from ingest import api as ingest_api
from metadata import api as metadata_api
from protection import api as protection_api
from recovery import api as recovery_api
from restore import api as restore_api


class Router(DefaultRouter):
    """DRF's router, with ids that only match digits.

    DRF's default lookup matches any segment, so `/api/restores/null,null/`
    reached `int()` in the gates and answered 500. A viewset that looks up by
    something else (a project code, a date) declares its own `lookup_value_regex`.
    """

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        by_id = getattr(viewset, "lookup_field", "pk") in ("pk", "id")
        if by_id and getattr(viewset, "lookup_value_regex", None) is None:
            kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
            return f"(?P<{lookup_prefix}{kwarg}>[0-9]+)"
        return super().get_lookup_regex(viewset, lookup_prefix)


router = Router()
router.register("projects", catalog_api.ProjectViewSet, basename="project")
router.register("days", catalog_api.ShootDayViewSet, basename="day")
router.register("volumes", catalog_api.VolumeViewSet, basename="volume")
# Reading is catalog's; metadata adds PATCH through its edit service (catalog cannot import metadata).
router.register("clips", metadata_api.ClipViewSet, basename="clip")
router.register("audit", catalog_api.AuditEventViewSet, basename="audit")
router.register("memberships", catalog_api.MembershipViewSet, basename="membership")
router.register("offloads", ingest_api.OffloadJobViewSet, basename="offload")
router.register("restores", restore_api.RestoreRequestViewSet, basename="restore")
router.register("restore-targets", restore_api.RestoreTargetViewSet, basename="restore-target")
router.register("drills", restore_api.RestoreDrillViewSet, basename="drill")
router.register("review-items", metadata_api.ReviewItemViewSet, basename="review-item")
router.register("ingest-rules", metadata_api.IngestRulesViewSet, basename="ingest-rules")
router.register("clip-edits", metadata_api.ClipEditViewSet, basename="clip-edit")
router.register("metadata-extractions", metadata_api.MetadataExtractionViewSet, basename="extraction")
router.register("ale-imports", metadata_api.AleImportViewSet, basename="ale-import")
router.register("ale-exports", metadata_api.AleExportViewSet, basename="ale-export")
# Producer view: per-day figures and sign-off, camera reports, daily reports; alerts.
router.register(r"projects/(?P<code>[^/.]+)/days", dashboard_api.DayViewSet, basename="project-day")
router.register(
    r"projects/(?P<code>[^/.]+)/camera-reports", dashboard_api.CameraReportViewSet, basename="camera-report"
)
router.register(r"projects/(?P<code>[^/.]+)/reports", dashboard_api.ReportViewSet, basename="daily-report")
router.register("alerts", alerts_api.AlertViewSet, basename="alert")
router.register("custody-volumes", custody_api.CustodyVolumeViewSet, basename="custody-volume")
router.register("handoffs", custody_api.HandoffViewSet, basename="handoff")
router.register("smart-readings", custody_api.SmartReadingViewSet, basename="smart-reading")
router.register("fixity-runs", fixity_api.FixityRunViewSet, basename="fixity-run")
router.register("replications", protection_api.ReplicationJobViewSet, basename="replication")
router.register("incidents", recovery_api.IncidentViewSet, basename="incident")
router.register("checklists", recovery_api.ChecklistViewSet, basename="checklist")
