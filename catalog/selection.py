"""A selection of clips made on the search page: the ticked rows, or every match of the search.

"Select all N matches" means the search itself, not the rows on screen: the
selection then carries the search's query string and is resolved again by
whoever uses it (the list page, an export, a restore request), through the same
``catalog.search`` queries and the same project scope as the search page.

URL parameters (the search page's selection form sends them, and the list
page and the restore form pass them on):

- ``clip``: a ticked clip (repeated);
- ``all=1`` with ``query``: every match of the search in ``query`` (a query
  string of the search page's parameters); ticked clips are then ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.db.models import QuerySet
from django.http import QueryDict

from catalog.filters import clip_filter_parse, search_query_string
from catalog.models import Clip
from catalog.permissions import AnyUser
from catalog.search import EXPORT_LIMIT, ClipSearch, clip_search, clip_search_scope, search_description

#: The most clips one selection holds (as many as an export).
SELECTION_LIMIT: Final = EXPORT_LIMIT
#: Ticked clips one request may carry (a page holds 50; this bounds a forged URL).
TICKED_LIMIT: Final = 1_000


class SelectionError(ValueError):
    """A selection that cannot be used, with what to do about it."""


@dataclass(frozen=True)
class ClipSelection:
    """Ticked clips, or (``every_match``) every clip matching the search in ``query``."""

    clip_ids: tuple[int, ...] = ()
    query: str = ""
    every_match: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.every_match and not self.clip_ids

    def as_query(self) -> str:
        """URL parameters that carry this selection to another page."""
        data = QueryDict(mutable=True)
        if self.every_match:
            data["all"] = "1"
            data["query"] = self.query
        else:
            data.setlist("clip", [str(pk) for pk in self.clip_ids])
        return data.urlencode()

    def search(self) -> ClipSearch:
        """The search of an every-match selection (raises SelectionError when it is not valid)."""
        parsed, filterset = clip_filter_parse(QueryDict(self.query))
        if parsed is None:
            raise SelectionError(f"the search of this selection is not valid ({filterset.errors.as_text()})")
        return parsed

    def describe(self, count: int) -> str:
        """The selection in words: "3 ticked clips", "all 240 clips matching “rain” with camera B"."""
        noun = "clip" if count == 1 else "clips"
        if not self.every_match:
            return f"{count:,} ticked {noun}"
        words = search_description(self.search()) if self.query else ""
        return f"all {count:,} {noun} matching {words}" if words else f"all {count:,} {noun} you may see"


def clip_selection_parse(data: QueryDict) -> ClipSelection:
    """The selection in request parameters (raises SelectionError for ids that are not numbers)."""
    query = search_query_string(QueryDict(data.get("query", "")))
    if data.get("all") in ("1", "true", "on"):
        return ClipSelection(query=query, every_match=True)
    raw = [part for value in data.getlist("clip") for part in value.split(",") if part.strip()]
    if not all(part.strip().isdigit() for part in raw):
        raise SelectionError("clips are chosen by ticking them on the search page")
    ids = tuple(dict.fromkeys(int(part) for part in raw))
    if len(ids) > TICKED_LIMIT:
        raise SelectionError(f"tick at most {TICKED_LIMIT:,} clips, or select all matches of a search")
    return ClipSelection(clip_ids=ids, query=query)


def clip_selection_clips(*, user: AnyUser, selection: ClipSelection) -> QuerySet[Clip]:
    """The selected clips the user may see, by name (ids of clips the user may not see drop out)."""
    if selection.every_match:
        return clip_search(user=user, search=selection.search()).order_by("project__code", "name", "id")
    return (
        clip_search_scope(user=user)
        .filter(pk__in=selection.clip_ids)
        .select_related("project", "day")
        .order_by("project__code", "name", "id")
    )
