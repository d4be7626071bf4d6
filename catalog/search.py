"""Clip search: the one place that turns a search into SQL, for the search page, the API and exports.

A search is a :class:`ClipSearch` (parsed from query parameters by
``catalog/filters.py``). Every filter is written so PostgreSQL can answer it
from an index at a million clips (migration 0004 creates them):

============================  ==============================================================
filter                        index
============================  ==============================================================
free text ``q``, partial      ``clip_search_document_gin``: GIN on the stored column
names (``C003``, ``A001C0``)  ``search_document`` (migration 0006); every word of the text
                              must start a word of the clip
cast (actor)                  the names the words start, from ``catalog_cast_name`` (kept by
                              triggers, migration 0011); up to CAST_NAMES_DIRECT names (a
                              full name): their clips through ``clip_cast_folded_gin``;
                              more (a first name): as location
location                      the same GIN finds candidates (every word starts a word of the
                              clip); a regular expression (``catalog_words_pattern``) then
                              keeps those where the words start one actor's name or the
                              location: "Ava" finds "Ava Stone", "harb" "Harbour"
scene, take                   ``clip_scene_take_ci`` (``UPPER(scene), UPPER(take), project``)
reel                          ``clip_reel_ci``
day                           the ``day_id`` foreign-key index, through the shoot day
copies_lt                     ``clip_min_verified`` on the trigger-maintained column; for
                              1 and 2 the partial ``clip_short_of_copies`` (index-only)
modified_since                ``clip_modified``
============================  ==============================================================

camera, lens, codec and circled are not selective on their own; they narrow a
search that one of the above already made small.

The user's visible projects are read first and passed as literal ids, so the
planner sees ``project_id IN (1, 2)`` rather than a membership subquery.

How a page is read depends on how many clips match, which a bounded count
(``COUNT_CAP``) tells first:

- up to ``FILTER_FIRST_LIMIT``: collected through the filters' indexes, then
  sorted (the page's ids, then those clips);
- more: read in the order of the sort, from an index that has it (name:
  ``clip_name_unique_in_project``; timecode: ``clip_timecode``; last modified:
  ``clip_modified``; shoot day: the days by date, then each day's clips through
  its ``day_id`` index), testing each row against the filters and stopping after
  the page. Bitmap scans are switched off for that statement, so PostgreSQL
  cannot choose to collect and sort every match instead (its estimate of how
  many rows a prefix search matches can be off by a factor of 100).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from django.contrib.postgres.search import SearchVectorField
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import BooleanField, Expression, F, Func, OrderBy, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Upper
from django.db.models.lookups import In
from django.utils.functional import cached_property

from catalog.models import Clip, clip_cast_folded
from catalog.permissions import AnyUser, Cap, projects_for

#: Orderings offered by the page and the API (``ordering=``), each with a unique tiebreaker.
ORDERINGS: Final[dict[str, tuple[str, Sequence[OrderBy]]]] = {
    "name": ("Name", (F("name").asc(), F("id").asc())),
    "-name": ("Name, Z to A", (F("name").desc(), F("id").desc())),
    "timecode": ("Timecode", (F("start_tc").asc(), F("name").asc(), F("id").asc())),
    "-timecode": ("Timecode, latest first", (F("start_tc").desc(), F("name").desc(), F("id").desc())),
    "day": (
        "Shoot day",
        (F("day__date").asc(nulls_last=True), F("start_tc").asc(), F("name").asc(), F("id").asc()),
    ),
    "-day": (
        "Shoot day, latest first",
        (F("day__date").desc(nulls_last=True), F("start_tc").desc(), F("name").desc(), F("id").desc()),
    ),
    "modified": ("Last modified, oldest first", (F("modified_at").asc(), F("id").asc())),
    "-modified": ("Last modified", (F("modified_at").desc(), F("id").desc())),
}
DEFAULT_ORDERING: Final = "name"

#: Up to this many matches, results are collected through the filters' indexes and
#: then sorted; beyond it, read in order from an index (see clip_search_order_for).
#: Collecting costs a visit to every matching row (2-20 us each, the rows lie all
#: over the table); reading in order costs one per row read until the page is full.
FILTER_FIRST_LIMIT: Final = 2_500
#: A walk in sort order reads at most this many clips, or WALK_FACTOR per clip up
#: to the end of the page if more, before it gives up and collects the matches.
WALK_ROWS: Final = 5_000
WALK_FACTOR: Final = 20
#: Counts are exact up to here, then "more than 2,500": counting visits every
#: matching row, and an exact count of a search matching most of a million clips
#: costs more than it tells. Pages go as deep as the count: 50 pages of 50.
COUNT_CAP: Final = FILTER_FIRST_LIMIT
#: Facet counts are computed when the search matches at most this many clips
#: (their own bound, said on the page), so they cost no more than the count.
FACET_LIMIT: Final = 2_500
#: An actor filter whose words start at most this many cataloged names reads those
#: actors' clips through the folded-cast GIN; more names (a common first name) go
#: through the document's GIN and a count in table order, which stops early.
CAST_NAMES_DIRECT: Final = 4
#: Values shown per facet.
FACET_SIZE: Final = 8
#: Exports stop here; a bigger export means the search is not narrow enough.
EXPORT_LIMIT: Final = 50_000

_WORD = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class ClipSearch:
    """One search. Empty strings and None mean "any"."""

    q: str = ""
    project: str = ""
    day: int | None = None
    scene: str = ""
    take: str = ""
    camera: str = ""
    reel: str = ""
    cast: str = ""
    location: str = ""
    lens: str = ""
    codec: str = ""
    circled: bool | None = None
    copies_lt: int | None = None
    has_issues: bool | None = None
    modified_since: datetime | None = None
    # Camera settings (columns of the clip; see CAMERA_TEXT_FILTERS).
    iso: int | None = None
    white_balance: int | None = None
    shutter: str = ""
    iris: str = ""
    focal_length: Decimal | None = None
    sensor_fps: Decimal | None = None
    look: str = ""
    has_cdl: bool | None = None
    ordering: str = DEFAULT_ORDERING


# --------------------------------------------------------------------------- #
# "Has review issues": a hook for the review queue (a later issue adds it).
# --------------------------------------------------------------------------- #

ReviewIssueFilter = Callable[[QuerySet[Clip], bool], QuerySet[Clip]]
_review_issue_filter: ReviewIssueFilter | None = None


def review_issue_filter_register(*, apply: ReviewIssueFilter | None) -> None:
    """Install (or with None remove) the filter behind ``has_issues``.

    The review app calls this from its ``AppConfig.ready()`` with a function that
    narrows a clip queryset to clips with (True) or without (False) open review
    issues. Until one is installed the page hides the control and the parameter
    changes nothing.
    """
    global _review_issue_filter  # one process-wide hook, set at startup
    _review_issue_filter = apply


def review_issues_available() -> bool:
    return _review_issue_filter is not None


# --------------------------------------------------------------------------- #
# Query building
# --------------------------------------------------------------------------- #


class _Matches(Func):
    """``document @@ catalog_search_query(text)`` as a boolean expression."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


class _WordsStart(Func):
    """``catalog_words_start(values, catalog_words_pattern(text))``: every word of the text starts
    a word of one value (the values joined by chr(31))."""

    function = "catalog_words_start"
    output_field = BooleanField()


class _SearchDocument(Expression):
    """The stored ``search_document`` column of the query's clip table (migration 0006).

    The model does not declare the column (ordinary reads should not load it), so
    this names it on whatever alias the clip table has in the query being compiled.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.search_document", ()


def _text_query(*texts: str) -> Func:
    """``catalog_search_query`` of the words of all ``texts`` together (one GIN look-up)."""
    return Func(Value(" ".join(texts)), function="catalog_search_query")


def cast_names_matching(text: str) -> list[str]:
    """The lower-cased names of every cataloged actor whose name the words of ``text`` start.

    One query on ``catalog_cast_name``, which triggers keep holding every actor name
    of every clip (migration 0011). Each name gets the test the actor filter defines
    (``catalog_words_pattern``, case-insensitive), so a clip matches the filter
    exactly when one of its actors' lower-cased names is in this list.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT folded FROM catalog_cast_name WHERE name ~* catalog_words_pattern(%s)"
            " ORDER BY folded",
            (text,),
        )
        return [row[0] for row in cursor.fetchall()]


def has_words(text: str) -> bool:
    """Whether free text holds anything to search for (letters or digits)."""
    return bool(_WORD.search(text))


def clip_search_scope(*, user: AnyUser) -> QuerySet[Clip]:
    """Clips of every project the user may view (one query to read the project ids)."""
    project_ids = list(projects_for(user, Cap.VIEW).values_list("id", flat=True))
    return Clip.objects.filter(project_id__in=project_ids)


#: Text filters that match a column exactly, in any case (UPPER() indexes where selective).
_CASE_INSENSITIVE: Final = ("scene", "take", "camera", "reel", "lens", "codec", "shutter", "iris", "look")
#: Number filters -> the column they equal (camera settings).
_EXACT: Final = {
    "iso": "iso",
    "white_balance": "white_balance_k",
    "focal_length": "focal_length_mm",
    "sensor_fps": "sensor_fps",
}


def clip_search_apply(*, queryset: QuerySet[Clip], search: ClipSearch) -> QuerySet[Clip]:
    """Narrow and order ``queryset`` (already scoped to the user) by ``search``.

    Adds no query, but for the actor filter: one to read the matching actor names.
    """
    conditions = Q()
    cast, location = search.cast.strip(), search.location.strip()
    words = [text for text in (search.q, location) if has_words(text)]
    if has_words(cast):
        names = cast_names_matching(cast)
        if len(names) <= CAST_NAMES_DIRECT:
            # A full name (or a rare one): the few actors' clips through the folded-cast
            # GIN, exact keys, instead of prefix look-ups in the document's GIN (20-60 ms
            # for a full name at a million clips). The names go in as a constant, so the
            # planner estimates from the index's statistics how many clips they have.
            queryset = queryset.alias(cast_folded=clip_cast_folded())
            conditions &= Q(cast_folded__overlap=names)
        else:
            # A common first name: many actors, perhaps most clips. The document's GIN
            # and a bounded count in table order find them; the pattern keeps the
            # clips where the words start one actor's name.
            words.append(cast)
            actors = Func(F("cast"), Func(Value(31), function="chr"), function="array_to_string")
            conditions &= Q(_WordsStart(actors, Func(Value(cast), function="catalog_words_pattern")))
    if words:
        # Free text and the partial-name filters share one look-up in the document's GIN.
        conditions &= Q(_Matches(_SearchDocument(), _text_query(*words)))
    if has_words(location):
        conditions &= Q(_WordsStart(F("location"), Func(Value(location), function="catalog_words_pattern")))
    if search.project:
        conditions &= Q(project__code=search.project.upper())
    if search.day is not None:
        conditions &= Q(day__number=search.day)
    for name in _CASE_INSENSITIVE:
        value = getattr(search, name).strip()
        if value:
            queryset = queryset.alias(**{f"{name}_ci": Upper(name)})
            conditions &= Q(**{f"{name}_ci": value.upper()})
    for name, column in _EXACT.items():
        if (number := getattr(search, name)) is not None:
            conditions &= Q(**{column: number})
    if search.has_cdl is not None:
        conditions &= Q(extra__has_key="cdl") if search.has_cdl else ~Q(extra__has_key="cdl")
    if search.circled is not None:
        conditions &= Q(circled=search.circled)
    if search.copies_lt is not None:
        conditions &= Q(min_verified_copies__lt=search.copies_lt)
    if search.modified_since is not None:
        conditions &= Q(modified_at__gte=search.modified_since)
    queryset = queryset.filter(conditions)
    if search.has_issues is not None and _review_issue_filter is not None:
        queryset = _review_issue_filter(queryset, search.has_issues)
    _, order = ORDERINGS.get(search.ordering, ORDERINGS[DEFAULT_ORDERING])
    return queryset.select_related("project", "day").order_by(*order)


def clip_search(*, user: AnyUser, search: ClipSearch) -> QuerySet[Clip]:
    """The clips the user may see that match ``search``, in its order."""
    return clip_search_apply(queryset=clip_search_scope(user=user), search=search)


def clip_count_capped(*, queryset: QuerySet[Clip], cap: int | None = None) -> int:
    """How many clips match, counting no further than ``cap + 1`` (default COUNT_CAP; one query)."""
    limit = COUNT_CAP if cap is None else cap
    return queryset.order_by().values("id")[: limit + 1].count()


# --------------------------------------------------------------------------- #
# Facets
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class FacetValue:
    value: str  # what goes into the URL parameter
    label: str
    count: int


#: Facet name -> (value, count) pairs of the matching rows ``s``, most frequent first.
_FACET_SQL: Final[dict[str, str]] = {
    "project": "SELECT project_code, count(*) FROM s GROUP BY 1",
    "day": "SELECT day_number::text, count(*) FROM s WHERE day_number IS NOT NULL GROUP BY 1",
    "scene": "SELECT scene, count(*) FROM s WHERE scene <> '' GROUP BY 1",
    "camera": "SELECT camera, count(*) FROM s WHERE camera <> '' GROUP BY 1",
    "cast": "SELECT actor, count(*) FROM s, unnest(s.actors) AS actor WHERE actor <> '' GROUP BY 1",
    "location": "SELECT location, count(*) FROM s WHERE location <> '' GROUP BY 1",
    "lens": "SELECT lens, count(*) FROM s WHERE lens <> '' GROUP BY 1",
    "codec": "SELECT codec, count(*) FROM s WHERE codec <> '' GROUP BY 1",
    "circled": "SELECT circled::text, count(*) FROM s GROUP BY 1",
    # Distribution of the fewest verified copies, 0..3+ (turned into "fewer than N" below).
    "copies": "SELECT least(min_verified_copies, 3)::text, count(*) FROM s GROUP BY 1",
}


@dataclass(frozen=True)
class Facets:
    """Counts of the values of the matching clips, per filter; ``skipped`` when too many matched."""

    values: Mapping[str, Sequence[FacetValue]] = field(default_factory=dict)
    skipped: bool = False


def clip_search_facets(*, queryset: QuerySet[Clip], size: int = FACET_SIZE) -> Facets:
    """Value counts of the matching clips for every facet, in one query.

    The matching rows are read once into a materialized CTE and grouped per
    facet; each facet keeps its ``size`` most frequent values.
    """
    inner = queryset.order_by().values(
        "circled",
        "min_verified_copies",
        "scene",
        "camera",
        "location",
        "lens",
        "codec",
        project_code=F("project__code"),
        day_number=F("day__number"),
        actors=F("cast"),
    )
    inner_sql, params = inner.query.sql_with_params()
    # Only fixed SQL text is formatted in; every value travels as a parameter.
    # Each facet keeps its top values on its own (a small top-N sort per facet,
    # not one sort of every distinct value of every facet).
    unions = " UNION ALL ".join(
        f"(SELECT '{name}' AS facet, v::text AS value, n FROM ({sql}) AS f{i}(v, n)"  # noqa: S608
        f" ORDER BY n DESC, value LIMIT {int(max(size, 4))})"
        for i, (name, sql) in enumerate(_FACET_SQL.items())
    )
    sql = f"WITH s AS MATERIALIZED ({inner_sql}) {unions}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[str, str, int]] = cursor.fetchall()
    grouped: dict[str, list[FacetValue]] = {}
    for facet, value, count in sorted(rows, key=lambda row: (row[0], -row[2], row[1])):
        grouped.setdefault(facet, []).append(FacetValue(value=value, label=value, count=count))
    grouped["day"] = [FacetValue(v.value, f"Day {v.value}", v.count) for v in grouped.get("day", [])]
    circled = {v.value: v.count for v in grouped.get("circled", [])}
    grouped["circled"] = [
        FacetValue("true", "Circled", circled.get("true", 0)),
        FacetValue("false", "Not circled", circled.get("false", 0)),
    ]
    by_copies = {int(v.value): v.count for v in grouped.get("copies", [])}
    grouped["copies"] = [
        FacetValue(str(n), f"Fewer than {n} verified", sum(c for k, c in by_copies.items() if k < n))
        for n in (1, 2, 3)
    ]
    return Facets(values=grouped)


# --------------------------------------------------------------------------- #
# The search page
# --------------------------------------------------------------------------- #


def clip_search_order_for(*, queryset: QuerySet[Clip], count: int) -> QuerySet[Clip]:
    """The search ordered for a result of ``count`` clips (adds no query).

    A small result is read through the filters' indexes and then sorted. A plain
    ``ORDER BY name LIMIT 50`` invites PostgreSQL to walk the (project, name)
    index instead and test every row against the filters, betting that matches
    are spread evenly; they seldom are (an actor's clips all sit in one stretch
    of names), and the walk can read most of the table before it finds 50.
    Wrapping each sort key in ``COALESCE(key, key)`` (same value, same order) hides
    the index from the sort. A large result keeps the plain keys, so the index
    walk can stop after one page instead of sorting every match.
    """
    if count > FILTER_FIRST_LIMIT:
        return queryset
    keys: list[str | OrderBy] = []
    for key in queryset.query.order_by:
        if isinstance(key, OrderBy):
            keys.append(
                OrderBy(
                    Coalesce(key.expression, key.expression),
                    descending=key.descending,
                    nulls_first=key.nulls_first,
                    nulls_last=key.nulls_last,
                )
            )
        elif isinstance(key, str):
            keys.append(key)
    return queryset.order_by(*keys)


@contextmanager
def _bitmap_scans_off() -> Iterator[None]:
    """Read in order and stop after the page: no bitmap scan may collect and sort every match.

    ``SET LOCAL`` in a transaction (or savepoint) of its own, turned back on
    after, in case the caller's transaction goes on; an error rolls it back anyway.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_bitmapscan', 'off', true)")
        yield
        cursor.execute("SELECT set_config('enable_bitmapscan', 'on', true)")


def _is_by_day(queryset: QuerySet[Clip]) -> bool:
    first = queryset.query.order_by[0] if queryset.query.order_by else None
    return isinstance(first, OrderBy) and getattr(first.expression, "name", None) == "day__date"


def _day_walk_ids(*, queryset: QuerySet[Clip], start: int, stop: int, days: int) -> list[int] | None:
    """Ids ``start:stop`` of a search ordered by shoot day, read day by day (one query).

    The first ``days`` days are taken in date order; each day's matching clips are
    read through the ``day_id`` index, at most ``stop`` of them, and sorted by
    timecode and name; an incremental sort merges days of the same date and the
    walk stops once the page is full. None when the page is not full within those
    days, or reaches the clips without a day, which come last (the caller then
    collects and sorts every match).
    """
    first, *rest = queryset.query.order_by
    assert isinstance(first, OrderBy)
    direction = "DESC" if first.descending else "ASC"
    inner = (
        queryset.order_by(*rest)
        .filter(day_id=RawSQL("walk_day.id", ()))
        .values("id", "start_tc", "name")[:stop]
    )
    inner_sql, params = inner.query.sql_with_params()
    # Only fixed SQL text is formatted in; every value travels as a parameter.
    sql = (
        "SELECT w.id FROM (SELECT id, date FROM catalog_shootday"  # noqa: S608
        f" ORDER BY date {direction}, id {direction} LIMIT %s)"
        f" AS walk_day CROSS JOIN LATERAL ({inner_sql}) AS w"
        f" ORDER BY walk_day.date {direction}, w.start_tc {direction}, w.name {direction}, w.id {direction}"
        " LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (days, *params, stop - start, start))
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) == stop - start else None


def _scope_project(queryset: QuerySet[Clip]) -> int | None:
    """The one project clip_search_scope limited ``queryset`` to, or None (several, or unknown)."""
    project = Clip._meta.get_field("project")
    for child in queryset.query.where.children:
        if isinstance(child, In) and getattr(child.lhs, "target", None) is project:
            ids = list(child.rhs)
            return int(ids[0]) if len(ids) == 1 else None
    return None


def _walk_bound(*, queryset: QuerySet[Clip], rows: int) -> tuple[str, object] | None:
    """A filter that keeps a walk in sort order within the first ``rows`` clips of the project.

    The walk tests each row it reads; when the matches are bunched (an actor's clips
    lie in one stretch of names) it could read most of the table before the page is
    full. Bounded, it gives up after ``rows`` and the caller collects and sorts
    instead. The bound is the first sort key of the ``rows``-th clip in order, read
    from the sort's index alone. None: no bound needed (fewer clips) or possible.
    """
    project = _scope_project(queryset)
    first = queryset.query.order_by[0] if queryset.query.order_by else None
    key = getattr(getattr(first, "expression", None), "name", None)
    if project is None or not isinstance(first, OrderBy) or key not in {"name", "start_tc", "modified_at"}:
        return None
    order = F(key).desc() if first.descending else F(key).asc()
    bound = (
        Clip.objects.filter(project_id=project).order_by(order).values_list(key, flat=True)[rows : rows + 1]
    )
    found = list(bound)
    if not found:
        return None
    return (f"{key}__gte" if first.descending else f"{key}__lte"), found[0]


def clip_search_slice(*, queryset: QuerySet[Clip], count: int, start: int, stop: int) -> list[Clip]:
    """Clips ``start:stop`` of the search, read the cheapest way for a result of ``count``.

    A large result: read in the sort's order (see the module docstring) within a
    budget of WALK_ROWS (or WALK_FACTOR clips read per clip of the page, if more):
    one query, two by shoot day, plus the bound. When the budget runs out first (the
    matches are few or bunched), and for a small result: the matches are collected
    through the filters' indexes and sorted: first the page's ids (sorting narrow
    rows, with no join but what the order needs), then those clips by key with
    their project and day.
    """
    ids: list[int] | None = None
    if count > FILTER_FIRST_LIMIT:
        budget = max(WALK_ROWS, WALK_FACTOR * stop)
        with _bitmap_scans_off():
            if _is_by_day(queryset):
                ids = _day_walk_ids(queryset=queryset, start=start, stop=stop, days=budget // 100)
            else:
                bound = _walk_bound(queryset=queryset, rows=budget)
                walk = queryset.filter(**dict([bound])) if bound else queryset
                page = list(walk[start:stop])
                if len(page) == stop - start or bound is None:
                    return page
    if ids is not None:
        # The ids come from the scoped, filtered query: fetch them by key alone.
        rows = Clip.objects.select_related("project", "day").in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]
    # One query: the page's ids sorted from narrow rows (no join but what the order
    # needs), then those clips by key with their project and day, in the same order
    # (its keys end with the unique id).
    ordered = clip_search_order_for(queryset=queryset, count=0)
    page_ids = ordered.values("id")[start:stop]
    return list(
        Clip.objects.select_related("project", "day")
        .filter(id__in=page_ids)
        .order_by(*ordered.query.order_by)
    )


class ClipSearchPaginator(Paginator):  # type: ignore[type-arg]  # Paginator's generics vary across stubs
    """Pages of a clip search, ordered for the result's size once the count is known.

    ``count`` (optional) is a count already made; with ``more`` it is a lower bound
    (a capped count): the result is treated as large, and pages past it are not offered.
    Without one, the paginator makes a capped count itself (COUNT_CAP): ``count`` is
    then exact only when ``count_exact``.
    """

    def __init__(
        self, object_list: QuerySet[Clip], per_page: int, *, count: int | None = None, more: bool = False
    ) -> None:
        super().__init__(object_list, per_page)
        self._queryset = object_list
        self._known_count = count
        self._more = more

    @cached_property
    def _bounded(self) -> tuple[int, bool]:
        if self._known_count is not None:
            return self._known_count, self._more
        total = clip_count_capped(queryset=self._queryset)
        return min(total, COUNT_CAP), total > COUNT_CAP

    @property
    def count(self) -> int:
        return self._bounded[0]

    @property
    def count_exact(self) -> bool:
        return not self._bounded[1]

    def page(self, number: int | str) -> Page:  # type: ignore[type-arg]
        """The page's clips, read by clip_search_slice (Paginator.page's bounds, no orphans)."""
        valid = self.validate_number(number)
        start = (valid - 1) * self.per_page
        stop = min(start + self.per_page, self.count)
        size = FILTER_FIRST_LIMIT + 1 if not self.count_exact else self.count
        rows = clip_search_slice(queryset=self._queryset, count=size, start=start, stop=stop)
        return Page(rows, valid, self)


@dataclass(frozen=True)
class SearchPage:
    page: Page  # type: ignore[type-arg]
    total: int  # exact when not ``capped``
    capped: bool
    facets: Facets


def clip_search_page(
    *, user: AnyUser, search: ClipSearch, page: str | int | None, per_page: int = 50
) -> SearchPage:
    """One page of results with the (capped) total and the facets: three queries plus the project ids."""
    queryset = clip_search(user=user, search=search)
    total = clip_count_capped(queryset=queryset)
    capped = total > COUNT_CAP
    paginator = ClipSearchPaginator(queryset, per_page, count=min(total, COUNT_CAP), more=capped)
    facets = clip_search_facets(queryset=queryset) if 0 < total <= FACET_LIMIT else Facets(skipped=total > 0)
    return SearchPage(page=paginator.get_page(page), total=total, capped=capped, facets=facets)


def clip_export_list(*, user: AnyUser, search: ClipSearch, limit: int | None = None) -> list[Clip] | None:
    """The clips an export of ``search`` holds, in its order, or None when more than ``limit``
    (default EXPORT_LIMIT) match."""
    limit = EXPORT_LIMIT if limit is None else limit
    queryset = clip_search(user=user, search=search)
    total = clip_count_capped(queryset=queryset, cap=limit)
    if total > limit:
        return None
    return list(clip_search_order_for(queryset=queryset, count=total))


# --------------------------------------------------------------------------- #
# Saying what a search is, and what excluded its results
# --------------------------------------------------------------------------- #

#: Each filter of a search: (field, how its value reads in a sentence, what "without the … filter" names).
_FILTER_WORDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("q", "“{}”", "search words"),
    ("project", "in project {}", "project"),
    ("day", "on day {}", "shoot day"),
    ("scene", "in scene {}", "scene"),
    ("take", "take {}", "take"),
    ("camera", "with camera {}", "camera"),
    ("reel", "on roll {}", "roll"),
    ("cast", "with actor {}", "actor"),
    ("location", "at location {}", "location"),
    ("lens", "with lens {}", "lens"),
    ("codec", "in codec {}", "codec"),
    ("circled", "{}", "circled"),
    ("copies_lt", "with fewer than {} verified copies", "copy state"),
    ("has_issues", "{}", "review issues"),
    ("modified_since", "modified since {}", "modified since"),
    ("iso", "at ISO {}", "ISO"),
    ("white_balance", "at {} K", "white balance"),
    ("shutter", "with shutter {}", "shutter"),
    ("iris", "at iris {}", "iris"),
    ("focal_length", "at {} mm", "focal length"),
    ("sensor_fps", "shot at {} fps", "sensor FPS"),
    ("look", "with look {}", "look"),
    ("has_cdl", "{}", "CDL"),
)


def _filter_phrase(search: ClipSearch, name: str, template: str) -> str | None:
    value = getattr(search, name)
    if value in (None, ""):
        return None
    if name == "circled":
        return "circled" if value else "not circled"
    if name == "has_issues":
        return "with review issues" if value else "without review issues"
    if name == "has_cdl":
        return "with a CDL" if value else "without a CDL"
    if isinstance(value, Decimal):
        value = f"{value.normalize():f}"
    if name == "modified_since":
        value = value.date().isoformat() if isinstance(value, datetime) else value
    return template.format(str(value).strip())


def search_filters_active(search: ClipSearch) -> list[tuple[str, str, str]]:
    """The search's active filters as (field, phrase, filter name), in a fixed order."""
    active = []
    for name, template, label in _FILTER_WORDS:
        if name == "has_issues" and _review_issue_filter is None:
            continue
        phrase = _filter_phrase(search, name, template)
        if phrase is not None:
            active.append((name, phrase, label))
    return active


def search_description(search: ClipSearch) -> str:
    """The search in words: ``“rain” with camera B on day 3``; "" for a search without filters."""
    return " ".join(phrase for _, phrase, _ in search_filters_active(search))


@dataclass(frozen=True)
class Relaxation:
    """How many clips a search would find with one of its filters dropped."""

    field: str  # the URL parameter dropped
    label: str  # "camera", "shoot day", …
    count: int  # capped at ``cap``
    capped: bool  # more than ``count``


_NO_FILTERS: Final = ClipSearch()
#: A relaxed count stops here: the hint says "more than 1,000", never counts further.
RELAX_CAP: Final = 1_000


def clip_search_relaxations(*, user: AnyUser, search: ClipSearch, cap: int = RELAX_CAP) -> list[Relaxation]:
    """For a search that found nothing: per active filter, the matches without that filter.

    One bounded count per active filter (each stops after ``cap + 1`` rows, through
    the same indexes as the search itself), plus one query for the project ids;
    filters whose removal still finds nothing are left out. The sort order is not
    a filter and is never dropped.
    """
    scope = clip_search_scope(user=user)
    found = []
    for name, _, label in search_filters_active(search):
        relaxed = replace(search, **{name: getattr(_NO_FILTERS, name)})
        count = clip_count_capped(queryset=clip_search_apply(queryset=scope, search=relaxed), cap=cap)
        if count:
            found.append(Relaxation(field=name, label=label, count=min(count, cap), capped=count > cap))
    return found
