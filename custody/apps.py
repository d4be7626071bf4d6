from datetime import datetime
from pathlib import Path
from typing import Any

from django.apps import AppConfig

from catalog.display import when_text


class CustodyConfig(AppConfig):
    name = "custody"
    verbose_name = "Custody and drive health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Features that write to or audit a volume ask catalog; custody knows the drives.
        from catalog.volumes import (
            volume_card_formatted_register,
            volume_identity_check_register,
            volume_offline_reason_register,
            volume_send_off_register,
        )

        volume_identity_check_register(_identity_check)
        volume_offline_reason_register(_in_transit)
        volume_card_formatted_register(_formatted_at)
        volume_send_off_register(_send_off)
        # Incident timelines (recovery) read custody's audit entries through catalog.
        from catalog.subjects import subject_describer_register
        from custody import timeline

        subject_describer_register(timeline.ACTIONS, timeline.describe)


def _identity_check(volume: Any, path: Path) -> None:
    from custody.selectors import volume_identity_check

    volume_identity_check(volume=volume, path=str(path))


def _in_transit(volume: Any) -> str | None:
    from custody.selectors import in_transit_for

    handoff = in_transit_for(volume=volume)
    if handoff is None:
        return None
    return f"in transit to {handoff.to_name} since {when_text(handoff.handed_at)}"


def _formatted_at(volume: Any) -> datetime | None:
    from custody.selectors import card_formatted_at

    return card_formatted_at(volume=volume)


def _send_off(actor: Any, volume: Any, to_place: str, condition: str) -> bool:
    from custody.selectors import in_transit_for
    from custody.services import handoff_create

    if in_transit_for(volume=volume) is not None:
        return False
    handoff_create(actor=actor, volume=volume, from_place="Set", to_place=to_place, condition=condition)
    return True
