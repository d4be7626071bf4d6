"""Where a card lands on a destination: a folder template like ``{project}/Day{day:03}/{camera}/{card}``.

Pure Python, no Django. Fields (the only ones allowed):

=========  =====================================  ===================
field      value                                  example
=========  =====================================  ===================
project    the project code                       ``DEMO``
day        the shoot day number (an integer)      ``{day:03}`` → 004
date       the shoot day's date                   ``{date:%Y%m%d}``
unit       the shoot day's unit                   ``main``
camera     the camera letter (``X`` if unknown)   ``A``
card       the card label                         ``A004``
=========  =====================================  ===================

Rules, each refused with a message naming the problem and the remedy:
the template must contain ``{card}`` (two cards of one day must not share a
folder); no other field, no attribute or index access (``{card.x}``,
``{card[0]}``), no ``!r``/``!s`` conversion; a relative path (no leading
``/``, ``\\`` or drive letter); no ``..`` or ``.`` component, no empty
component, no hidden (``.``-prefixed) folder, no backslash or control
character; at most 8 levels. A rendered path is checked again with the real
values, so a label that would escape cannot.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass

__all__ = ["DEFAULT_TEMPLATE", "FIELDS", "FolderTemplateError", "FolderValues", "render", "validate"]

DEFAULT_TEMPLATE = "{card}"
FIELDS = ("project", "day", "date", "unit", "camera", "card")
MAX_DEPTH = 8
MAX_COMPONENT = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FolderTemplateError(ValueError):
    """A folder template (or a path rendered from it) that cannot be used; the message says why."""


@dataclass(frozen=True)
class FolderValues:
    project: str
    day: int
    date: dt.date
    unit: str
    camera: str
    card: str


_EXAMPLE = FolderValues(
    project="DEMO", day=4, date=dt.date(2026, 11, 2), unit="main", camera="A", card="A004"
)


def validate(template: str) -> str:
    """Check ``template``; return it (stripped) or raise FolderTemplateError saying what to change."""
    template = template.strip() if isinstance(template, str) else ""
    if not template:
        raise FolderTemplateError("the folder template is empty; use at least {card}")
    if _CONTROL.search(template) or "\\" in template:
        raise FolderTemplateError(
            "the folder template contains a backslash or a control character; use / between folders"
        )
    if template.startswith("/") or re.match(r"^[A-Za-z]:", template) or template.startswith("~"):
        raise FolderTemplateError(
            f"the folder template {template!r} is an absolute path; it is relative to each destination, "
            "e.g. {project}/Day{day:03}/{card}"
        )
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise FolderTemplateError(
            f"the folder template {template!r} cannot be read: {exc}; write {{{{ for a brace"
        ) from None
    seen: set[str] = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS:
            raise FolderTemplateError(
                f"unknown field {{{field}}} in the folder template; the fields are "
                + ", ".join(f"{{{f}}}" for f in FIELDS)
            )
        if conversion is not None:
            raise FolderTemplateError(
                f"{{{field}!{conversion}}}: conversions are not allowed; write {{{field}}}"
            )
        if spec and "{" in spec:
            raise FolderTemplateError(f"{{{field}:{spec}}}: nested fields are not allowed")
        seen.add(field)
    if "card" not in seen:
        raise FolderTemplateError(
            "the folder template must contain {card}, so each card gets its own folder "
            "(e.g. {project}/Day{day:03}/{card})"
        )
    for part in template.split("/"):
        _check_level(part, f"the folder template {template!r}")
    render(template, _EXAMPLE)  # format specs that do not fit their field fail here
    return template


def _check_level(part: str, where: str) -> None:
    """Refuse an empty, ``.``, ``..`` or hidden level of a template or of a rendered folder."""
    if part in ("", ".", ".."):
        raise FolderTemplateError(
            f"{where} has an empty, '.' or '..' level; every level needs a name "
            "and may not climb out of the destination"
        )
    if part.startswith("."):
        raise FolderTemplateError(
            f"{where}: the level {part!r} would be hidden; do not start a level with '.'"
        )


def render(template: str, values: FolderValues) -> str:
    """The relative folder for ``values``, checked component by component.

    Raises:
        FolderTemplateError: a format spec that does not fit its field, or a
            rendered path that is absolute, climbs out (``..``), is hidden or too deep.
    """
    try:
        rendered = template.format(
            project=values.project,
            day=values.day,
            date=values.date,
            unit=values.unit,
            camera=values.camera,
            card=values.card,
        )
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        raise FolderTemplateError(
            f"the folder template {template!r} does not fit its fields: {exc}"
        ) from None
    if rendered.startswith("/") or "\\" in rendered or _CONTROL.search(rendered):
        raise FolderTemplateError(
            f"the folder {rendered!r} is not a relative path; check the template's fields"
        )
    parts = rendered.split("/")
    if len(parts) > MAX_DEPTH:
        raise FolderTemplateError(f"the folder {rendered!r} is {len(parts)} levels deep; at most {MAX_DEPTH}")
    for part in parts:
        _check_level(part, f"the folder {rendered!r}")
        if len(part) > MAX_COMPONENT or part != part.strip():
            raise FolderTemplateError(
                f"the folder part {part!r} is longer than {MAX_COMPONENT} characters "
                "or starts or ends with a space"
            )
    return rendered
