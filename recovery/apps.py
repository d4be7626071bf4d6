from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    """Recovery readiness: the recovery desk, incidents with lessons learned, runbook sections."""

    name = "recovery"
    verbose_name = "Recovery readiness"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # restore's runbook page reads the sections people wrote through catalog (features are independent).
        from catalog.runbook import runbook_sections_register
        from recovery.selectors import runbook_sections

        runbook_sections_register(runbook_sections)

        # Restores, handoffs and fixity audits join the timelines of the incidents they belong to:
        # recovery follows the audit log, and the features describe their own entries (catalog.subjects).
        from catalog.audit import audit_listen
        from catalog.subjects import subject_actions

        audit_listen(_timeline_follow, wants=lambda action: action in subject_actions())


def _timeline_follow(audit_event_id: int) -> None:
    from recovery.services import incident_timeline_follow

    incident_timeline_follow(audit_event_id=audit_event_id)
