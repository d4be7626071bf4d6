from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from django.core.mail import EmailMessage

    from alerts.models import Delivery


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Producer dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Daily reports are emailed through the alerts outbox, which must not
        # import the dashboard: tell it how a report email is written.
        from alerts.models import Delivery
        from alerts.outbox import email_composer_register

        email_composer_register(kind=Delivery.Kind.REPORT, composer=_report_email)


def _report_email(delivery: Delivery) -> EmailMessage:
    # Imported when a report is mailed, not at start-up: dashboard.services
    # brings the PDF writer (fpdf, fontTools), a quarter of a second that
    # every management command would otherwise pay.
    from dashboard.services import report_email

    return report_email(delivery)
