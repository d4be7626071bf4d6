from django.apps import AppConfig


class MetadataConfig(AppConfig):
    name = "metadata"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The search page's "has review issues" filter is answered by the review queue.
        from catalog.search import review_issue_filter_register
        from metadata.review import clips_with_open_issues

        review_issue_filter_register(apply=clips_with_open_issues)
