"""Django admin for the metadata rules and the review queue, behind the same permission layer as the pages.

Rules saved here go through the same checks as the Rules page and re-validate
every clip; review items are read-only here (fix or waive them on the review page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from catalog.admin import ProjectScopedAdmin
from catalog.permissions import Cap
from metadata.models import IngestRules, ReviewItem
from metadata.review import ingest_rules_save, rules_clean

RULE_FIELDS = (
    "naming_pattern",
    "required_fields",
    "allowed_values",
    "known_cameras",
    "camera_rules",
    "require_sidecar",
)


class IngestRulesAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = IngestRules
        fields = ("project", *RULE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            rules_clean(
                naming_pattern=cleaned.get("naming_pattern") or "",
                required_fields=cleaned.get("required_fields") or [],
                allowed_values=cleaned.get("allowed_values") or {},
                known_cameras=cleaned.get("known_cameras") or [],
                camera_rules=cleaned.get("camera_rules") or {},
                require_sidecar=bool(cleaned.get("require_sidecar")),
            )
        except ValidationError as exc:
            raise ValidationError(
                {k if k in self.fields else "__all__": v for k, v in exc.message_dict.items()}
            ) from None
        return cleaned


@admin.register(IngestRules)
class IngestRulesAdmin(ProjectScopedAdmin):
    change_cap = Cap.INGEST
    form = IngestRulesAdminForm
    list_display = ("project", "naming_pattern", "require_sidecar", "updated_at", "updated_by")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The service saves, re-validates every clip and writes the audit entry.
        rules, _counts = ingest_rules_save(
            actor=request.user, project=obj.project, **{name: getattr(obj, name) for name in RULE_FIELDS}
        )
        obj.pk = rules.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # clear the rules instead: the queue must follow, which deleting would not do


@admin.register(ReviewItem)
class ReviewItemAdmin(ProjectScopedAdmin):
    list_display = ("clip", "kind", "state", "message", "created_at")
    list_filter = ("state", "kind", "project")
    search_fields = ("clip__name", "message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
