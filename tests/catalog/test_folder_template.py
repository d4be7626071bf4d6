"""The offload folder template: what it accepts, renders, and refuses (formats/foldertemplate.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from formats.foldertemplate import FolderTemplateError, FolderValues, render, validate

VALUES = FolderValues(project="DEMO", day=4, date=dt.date(2026, 11, 2), unit="main", camera="A", card="A004")


def test_the_documented_template_renders_one_folder_per_card() -> None:
    template = validate("{project}/Day{day:03}/{camera}/{card}")
    assert render(template, VALUES) == "DEMO/Day004/A/A004"
    assert render(validate("{date:%Y%m%d}_{unit}/{card}"), VALUES) == "20261102_main/A004"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "empty"),
        ("{project}/{reel}/{card}", "unknown field {reel}"),
        ("{card.__class__}", "unknown field {card.__class__}"),
        ("{card[0]}", "unknown field"),
        ("{card!r}", "conversions are not allowed"),
        ("{project}/Day{day}", "must contain {card}"),
        ("/Volumes/RAID/{card}", "absolute path"),
        ("C:/{card}", "absolute path"),
        ("~/{card}", "absolute path"),
        ("../{card}", "'..'"),
        ("{project}/../../etc/{card}", "'..'"),
        ("{project}//{card}", "empty"),
        ("./{card}", "'.'"),
        (".hidden/{card}", "hidden"),
        ("{project}\\{card}", "backslash"),
        ("{project}\x00/{card}", "control character"),
        ("{day:%Y}/{card}", "does not fit"),
        ("{card:{day}}", "nested"),
        ("{card", "cannot be read"),
        ("/".join(["x"] * 9) + "/{card}", "levels deep"),
    ],
)
def test_hostile_or_broken_templates_are_refused_with_the_reason(template: str, message: str) -> None:
    with pytest.raises(FolderTemplateError, match=None) as refused:
        validate(template)
    assert message in str(refused.value)


def test_a_value_that_would_escape_is_refused_at_render_time() -> None:
    hostile = FolderValues(
        project="..", day=1, date=dt.date(2026, 1, 1), unit="main", camera="A", card="A001"
    )
    with pytest.raises(FolderTemplateError, match="climb out"):
        render("{project}/{card}", hostile)
