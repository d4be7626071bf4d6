"""Query parameters of a clip search, parsed and validated for the search page and the API alike.

``ClipFilter`` is a django-filter FilterSet: DRF's filter backend and the
OpenAPI schema read it, and the search page uses it to parse and validate the
URL. It only parses: :meth:`ClipFilter.to_search` turns the parameters into a
:class:`catalog.search.ClipSearch`, and ``catalog.search`` builds the query.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django_filters import rest_framework as filters

from catalog.models import Clip
from catalog.search import DEFAULT_ORDERING, ORDERINGS, ClipSearch, Facets, clip_search_apply

ORDERING_CHOICES = [(key, label) for key, (label, _) in ORDERINGS.items()]

#: Parameters a saved search keeps (everything but the page number), in URL order.
SEARCH_PARAMETERS = (
    "q",
    "project",
    "day",
    "scene",
    "take",
    "camera",
    "reel",
    "cast",
    "location",
    "lens",
    "codec",
    "circled",
    "copies_lt",
    "has_issues",
    "modified_since",
    "iso",
    "white_balance",
    "shutter",
    "iris",
    "focal_length",
    "sensor_fps",
    "look",
    "has_cdl",
    "ordering",
)


class _CopiedShallow:
    """A filter that FilterSet copies shallowly: FilterSet.__init__ deep-copies every
    filter of the class for each request (about 650 ``deepcopy`` calls for this one),
    but these filters only parse and are never changed, so a copy of the object
    with its own ``extra`` and its own method binding does the same."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = copy.copy(self)
        clone.extra = dict(self.extra)  # type: ignore[attr-defined]
        clone.method = self.method  # type: ignore[attr-defined]  # binds the method to the clone
        return clone


class _CharFilter(_CopiedShallow, filters.CharFilter):  # type: ignore[misc]
    pass


class _NumberFilter(_CopiedShallow, filters.NumberFilter):  # type: ignore[misc]
    pass


class _BooleanFilter(_CopiedShallow, filters.BooleanFilter):  # type: ignore[misc]
    pass


class _IsoDateTimeFilter(_CopiedShallow, filters.IsoDateTimeFilter):  # type: ignore[misc]
    pass


class _ChoiceFilter(_CopiedShallow, filters.ChoiceFilter):  # type: ignore[misc]
    pass


def _text(label: str, help_text: str, **kwargs: Any) -> filters.CharFilter:
    return _CharFilter(label=label, help_text=help_text, method="_parsed_only", **kwargs)


class ClipFilter(filters.FilterSet):  # type: ignore[misc]  # django-filter ships no types
    """Clip search parameters. Text filters are case-insensitive exact matches unless noted."""

    q = _text(
        "Search",
        "Free text: every word must start a word of the clip's name, scene, take, camera, reel, cast, "
        "location, lens, codec or notes. Partial clip names work: C003, A001C0.",
        max_length=200,
    )
    project = _text("Project", "Project code, e.g. DEMO.", max_length=16)
    day = _NumberFilter(label="Shoot day", help_text="Shoot day number.", method="_parsed_only", min_value=0)
    scene = _text("Scene", "Scene, e.g. 42A.", max_length=32)
    take = _text("Take", "Take, e.g. 3.", max_length=16)
    camera = _text("Camera", "Camera letter or unit, e.g. A.", max_length=20)
    reel = _text("Roll / reel", "Camera roll or reel, e.g. A001.", max_length=64)
    cast = _text(
        "Actor",
        "One cast member: every word must start a word of the same actor's name, in any case "
        "(Ava finds Ava Stone; ava st too).",
        max_length=120,
    )
    location = _text(
        "Location",
        "Every word must start a word of the location, in any case (harb finds Harbour).",
        max_length=200,
    )
    lens = _text("Lens", "Lens, as cataloged (any case).", max_length=120)
    codec = _text("Codec", "Recording codec, as cataloged (any case).", max_length=60)
    circled = _BooleanFilter(
        label="Circled", help_text="true: circled takes only; false: the others.", method="_parsed_only"
    )
    copies_lt = _NumberFilter(
        label="Fewer than N verified copies",
        help_text="Clips of which some file has fewer than N verified copies on distinct volumes "
        "(camera cards excluded), or that have no files.",
        method="_parsed_only",
        min_value=1,
        max_value=100,
    )
    has_issues = _BooleanFilter(
        label="Has review issues",
        help_text="true: clips with open review items; false: the others. Ignored when no review "
        "queue is installed.",
        method="_parsed_only",
    )
    modified_since = _IsoDateTimeFilter(
        label="Modified since",
        help_text="ISO 8601 date or date-time, e.g. 2026-11-20 or 2026-11-20T08:00:00Z.",
        method="_parsed_only",
    )
    iso = _NumberFilter(
        label="ISO", help_text="ISO or exposure index, e.g. 800.", method="_parsed_only", min_value=1
    )
    white_balance = _NumberFilter(
        label="White balance (K)",
        help_text="Colour temperature in kelvin, e.g. 5600.",
        method="_parsed_only",
        min_value=1,
    )
    shutter = _text(
        "Shutter", "Shutter angle or speed as recorded, e.g. 180° or 1/48 (any case).", max_length=20
    )
    iris = _text("Iris", "Aperture as recorded, e.g. T2.3 or F5.6 (any case).", max_length=20)
    focal_length = _NumberFilter(
        label="Focal length (mm)",
        help_text="Focal length in millimetres, e.g. 40.",
        method="_parsed_only",
        min_value=0,
    )
    sensor_fps = _NumberFilter(
        label="Sensor FPS",
        help_text="Capture frame rate, e.g. 48 for off-speed.",
        method="_parsed_only",
        min_value=0,
    )
    look = _text("Look / LUT", "Look or LUT name as recorded (any case).", max_length=200)
    has_cdl = _BooleanFilter(
        label="Has a CDL", help_text="true: clips with an ASC CDL; false: the others.", method="_parsed_only"
    )
    ordering = _ChoiceFilter(
        label="Sort by",
        help_text="name, timecode, day or modified; prefix - to reverse. Default: name.",
        choices=ORDERING_CHOICES,
        method="_parsed_only",
        empty_label=None,
    )

    class Meta:
        model = Clip
        fields: list[str] = []

    def _parsed_only(self, queryset: QuerySet[Clip], name: str, value: object) -> QuerySet[Clip]:
        return queryset  # catalog.search applies all parameters at once, in filter_queryset

    def filter_queryset(self, queryset: QuerySet[Clip]) -> QuerySet[Clip]:
        return clip_search_apply(queryset=queryset, search=self.to_search())

    def to_search(self) -> ClipSearch:
        """The validated parameters as a ClipSearch (call after ``is_valid()``)."""
        data: dict[str, Any] = self.form.cleaned_data
        day = data.get("day")
        copies_lt = data.get("copies_lt")
        return ClipSearch(
            q=(data.get("q") or "").strip(),
            project=(data.get("project") or "").strip(),
            day=int(day) if day is not None else None,
            scene=data.get("scene") or "",
            take=data.get("take") or "",
            camera=data.get("camera") or "",
            reel=data.get("reel") or "",
            cast=data.get("cast") or "",
            location=data.get("location") or "",
            lens=data.get("lens") or "",
            codec=data.get("codec") or "",
            circled=data.get("circled"),
            copies_lt=int(copies_lt) if copies_lt is not None else None,
            has_issues=data.get("has_issues"),
            modified_since=data.get("modified_since"),
            iso=int(iso) if (iso := data.get("iso")) is not None else None,
            white_balance=int(wb) if (wb := data.get("white_balance")) is not None else None,
            shutter=(data.get("shutter") or "").strip(),
            iris=(data.get("iris") or "").strip(),
            focal_length=data.get("focal_length"),
            sensor_fps=data.get("sensor_fps"),
            look=(data.get("look") or "").strip(),
            has_cdl=data.get("has_cdl"),
            ordering=data.get("ordering") or DEFAULT_ORDERING,
        )


def clip_filter_parse(data: QueryDict) -> tuple[ClipSearch | None, ClipFilter]:
    """Parse search parameters: the search (None when invalid) and the bound FilterSet (form, errors)."""
    filterset = ClipFilter(data, queryset=Clip.objects.none())
    if not filterset.is_valid():
        return None, filterset
    return filterset.to_search(), filterset


def search_query_string(data: QueryDict) -> str:
    """The search's parameters as a clean query string: known, non-empty ones only, page dropped."""
    clean = QueryDict(mutable=True)
    for name in SEARCH_PARAMETERS:
        value = data.get(name, "").strip()
        if value:
            clean[name] = value
    return clean.urlencode()


#: Facet name -> the URL parameter its values set.
FACET_PARAMETERS = {
    "project": "project",
    "day": "day",
    "scene": "scene",
    "camera": "camera",
    "cast": "cast",
    "location": "location",
    "lens": "lens",
    "codec": "codec",
    "circled": "circled",
    "copies": "copies_lt",
}


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    query: str  # the query string that applies (or, when selected, removes) this value
    selected: bool


def facet_links(data: QueryDict, facets: Facets) -> dict[str, list[FacetLink]]:
    """Links for every facet value: selecting a value sets its parameter; a selected one clears it."""
    links: dict[str, list[FacetLink]] = {}
    for name, parameter in FACET_PARAMETERS.items():
        current = data.get(parameter, "").strip()
        for value in facets.values.get(name, ()):
            selected = current.casefold() == value.value.casefold()
            if value.count == 0 and not selected:
                continue
            changed = data.copy()
            if selected:
                changed.pop(parameter, None)
            else:
                changed[parameter] = value.value
            links.setdefault(name, []).append(
                FacetLink(value.label, value.count, search_query_string(changed), selected)
            )
    return links
