from typing import Any

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # catalog must not import alerts: it announces copies found corrupt or
        # missing with a signal (after the commit), and alerts raises them here.
        from catalog.copies import copy_problem_found

        copy_problem_found.connect(_copy_problem_found, dispatch_uid="alerts.copy_problem")


def _copy_problem_found(sender: Any, **kwargs: Any) -> None:
    from alerts.hooks import copy_problem

    copy_problem(
        project=kwargs["project"],
        volume=kwargs["volume"],
        state=kwargs["state"],
        paths=list(kwargs["paths"]),
        body=kwargs["body"],
        link=kwargs["link"],
    )
