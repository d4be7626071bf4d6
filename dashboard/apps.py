from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Producer dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Daily reports are emailed through the alerts outbox, which must not
        # import the dashboard: tell it how a report email is written.
        from alerts.models import Delivery
        from alerts.outbox import email_composer_register
        from dashboard.services import report_email

        email_composer_register(kind=Delivery.Kind.REPORT, composer=report_email)
