from django.apps import AppConfig


class FixityConfig(AppConfig):
    name = "fixity"
    verbose_name = "Fixity audits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Incident timelines (recovery) read fixity's audit entries through catalog.
        from catalog.subjects import subject_describer_register
        from fixity import timeline

        subject_describer_register(timeline.ACTIONS, timeline.describe)
