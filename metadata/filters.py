"""Query parameters of the review queue, parsed for the review page and the review-items API alike.

``ReviewItemFilter`` is a django-filter FilterSet: DRF's filter backend and the
OpenAPI schema read it for ``/api/review-items/``, and ``/p/<code>/review/``
binds it to its URL. A value that does not parse is ignored by the page (its
form shows what it understood) and answered with 400 by the API.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from metadata.models import ReviewItem

#: ``state=all`` (the page's "all" choice) is the same as no state.
ALL_STATES = "all"


class ReviewItemFilter(filters.FilterSet):  # type: ignore[misc]  # django-filter ships no types
    """Review-item parameters. Text filters are case-insensitive."""

    project = filters.CharFilter(
        label="Project",
        help_text="Project code, e.g. DEMO.",
        field_name="project__code",
        lookup_expr="iexact",
    )
    state = filters.ChoiceFilter(
        label="State",
        help_text="open, fixed or waived; all (or none) for every state.",
        choices=[*ReviewItem.State.choices, (ALL_STATES, "all")],
        method="_state",
    )
    kind = filters.ChoiceFilter(
        label="Kind", help_text="The rule or anomaly.", choices=ReviewItem.Kind.choices
    )
    clip = filters.NumberFilter(label="Clip", help_text="Clip id.", field_name="clip_id")
    card = filters.CharFilter(
        label="Card", help_text="Card label of the clip or of the file concerned.", method="_card"
    )
    day = filters.NumberFilter(
        label="Shoot day",
        help_text="Shoot day number of the clip.",
        field_name="clip__day__number",
        min_value=0,
    )
    q = filters.CharFilter(
        label="Clip or text", help_text="Part of the clip's name or of the message.", method="_text"
    )

    class Meta:
        model = ReviewItem
        fields: list[str] = []

    def _state(self, queryset: QuerySet[ReviewItem], name: str, value: str) -> QuerySet[ReviewItem]:
        return queryset if value == ALL_STATES else queryset.filter(state=value)

    def _card(self, queryset: QuerySet[ReviewItem], name: str, value: str) -> QuerySet[ReviewItem]:
        return queryset.filter(Q(clip__card__label__iexact=value) | Q(media_file__card__label__iexact=value))

    def _text(self, queryset: QuerySet[ReviewItem], name: str, value: str) -> QuerySet[ReviewItem]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(clip__name__icontains=value) | Q(message__icontains=value))
