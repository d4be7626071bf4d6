from django.apps import AppConfig


class ReelvaultConfig(AppConfig):
    """The top of the house: settings, urls, the API router, metrics and the demo commands."""

    name = "reelvault"
    default_auto_field = "django.db.models.BigAutoField"
