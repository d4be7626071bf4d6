from django.apps import AppConfig


class RestoreConfig(AppConfig):
    name = "restore"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Incident timelines (recovery) read restore's audit entries through catalog.
        from catalog.subjects import subject_describer_register
        from restore import timeline

        subject_describer_register(timeline.ACTIONS, timeline.describe)
