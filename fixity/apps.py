from django.apps import AppConfig


class FixityConfig(AppConfig):
    name = "fixity"
    verbose_name = "Fixity audits"
    default_auto_field = "django.db.models.BigAutoField"
