"""Camera reports: which cards (camera rolls) were shot on which date, read from the report's JSON.

Two shapes are read:

- ZoeLog's JSON export: ``{"production_title": …, "reports": [{"roll": "A34",
  "camera": "A", "shooting_date": "2024-01-03", "entries": [{"takes": [...]}, …]}, …]}``
  (one report per roll; its takes are counted as the card's clips);
- a plain list for scripts: ``{"cards": ["A034", {"label": "B025", "camera": "B", "clips": 3}]}``
  (the day is then given by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any


class CameraReportError(ValueError):
    """The file is not a camera report this module reads; the message says what is wrong."""


@dataclass(frozen=True)
class ReportedCard:
    label: str
    camera: str = ""
    shooting_date: date | None = None
    clips: int = 0


def _date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise CameraReportError(f"{where}: shooting_date {value!r} is not a date (YYYY-MM-DD)") from None


def parse_camera_report(data: Mapping[str, Any]) -> list[ReportedCard]:
    """The cards the report lists, in its order, each once (by label, case-insensitive)."""
    if not isinstance(data, Mapping):
        raise CameraReportError("a camera report is a JSON object")
    cards: list[ReportedCard] = []
    if isinstance(data.get("reports"), list):
        for index, report in enumerate(data["reports"]):
            where = f"reports[{index}]"
            if not isinstance(report, Mapping) or not str(report.get("roll") or "").strip():
                raise CameraReportError(f"{where} has no roll (card) name")
            entries = report.get("entries") or []
            takes = sum(len(entry.get("takes") or []) for entry in entries if isinstance(entry, Mapping))
            cards.append(
                ReportedCard(
                    label=str(report["roll"]).strip()[:64],
                    camera=str(report.get("camera") or "").strip()[:20],
                    shooting_date=_date(report.get("shooting_date"), where),
                    clips=takes,
                )
            )
    elif isinstance(data.get("cards"), list):
        for index, card in enumerate(data["cards"]):
            if isinstance(card, str) and card.strip():
                cards.append(ReportedCard(label=card.strip()[:64]))
            elif isinstance(card, Mapping) and str(card.get("label") or "").strip():
                cards.append(
                    ReportedCard(
                        label=str(card["label"]).strip()[:64],
                        camera=str(card.get("camera") or "")[:20],
                        shooting_date=_date(card.get("shooting_date"), f"cards[{index}]"),
                        clips=int(card.get("clips") or 0),
                    )
                )
            else:
                raise CameraReportError(f"cards[{index}] is neither a card name nor {{'label': …}}")
    else:
        raise CameraReportError('no "reports" (ZoeLog export) or "cards" list in the camera report')
    if not cards:
        raise CameraReportError("the camera report lists no card")
    unique: dict[str, ReportedCard] = {}
    for card in cards:
        seen = unique.get(card.label.upper())
        # A roll reported twice (two report pages) is one card with the takes of both.
        unique[card.label.upper()] = card if seen is None else replace(seen, clips=seen.clips + card.clips)
    return list(unique.values())
