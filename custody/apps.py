from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "custody"
    verbose_name = "Custody and drive health"
    default_auto_field = "django.db.models.BigAutoField"
