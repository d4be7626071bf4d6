"""The API router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from catalog import api as catalog_api

router = DefaultRouter()
router.register("projects", catalog_api.ProjectViewSet, basename="project")
router.register("days", catalog_api.ShootDayViewSet, basename="day")
router.register("volumes", catalog_api.VolumeViewSet, basename="volume")
router.register("clips", catalog_api.ClipViewSet, basename="clip")
router.register("audit", catalog_api.AuditEventViewSet, basename="audit")
router.register("memberships", catalog_api.MembershipViewSet, basename="membership")
