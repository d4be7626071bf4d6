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
