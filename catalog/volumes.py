"""Questions every feature asks about a volume, answered by the app that knows.

Catalog holds volumes but not their drives' identity files or their custody
(the ``custody`` app does), and features may not import one another. So the
features that write to or audit a volume (offload, restore, replication,
fixity) ask here, and the app that knows installs its answer at startup:

- ``volume_identity_verify(volume=, path=)``: is the folder at ``path`` (default:
  the volume's location) really this volume's drive? Raises
  ``VolumeIdentityError`` naming the drive found when it is another one.
  Without an installed check, every folder passes.
- ``volume_expected_offline(volume=)``: a reason the volume is expected to be
  unreachable right now (e.g. "in transit to the post house since 14:05"), or
  ``None``. Audits and "unreachable" alerts take it into account.
- ``volume_card_formatted(volume=)``: when a camera card was last confirmed
  formatted and returned to camera, or ``None``. Offload warns about a card
  offloaded before and not formatted since.
- ``volume_send_off(actor=, volume=, to_place=, condition=)``: hand the volume
  to a place (custody records it in transit until received). The practice
  project's "missing shuttle" is broken again this way. Returns False when no
  app records custody or the volume is already in transit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from catalog.models import Volume
from catalog.permissions import AnyUser

IdentityCheck = Callable[[Volume, Path], None]
OfflineReason = Callable[[Volume], str | None]
FormattedAt = Callable[[Volume], datetime | None]
SendOff = Callable[[AnyUser | None, Volume, str, str], bool]

_identity_checks: list[IdentityCheck] = []
_offline_reasons: list[OfflineReason] = []
_formatted_at: list[FormattedAt] = []
_send_off: list[SendOff] = []


class VolumeIdentityError(Exception):
    """The folder is another drive than the volume it is mounted as; the message names both."""


def volume_identity_check_register(check: IdentityCheck) -> None:
    """Install a check (called from an AppConfig.ready; installing the same one twice is a no-op)."""
    if check not in _identity_checks:
        _identity_checks.append(check)


def volume_offline_reason_register(reason: OfflineReason) -> None:
    if reason not in _offline_reasons:
        _offline_reasons.append(reason)


def volume_identity_verify(*, volume: Volume, path: Path | str | None = None) -> None:
    root = Path(path) if path is not None else Path(volume.location)
    for check in _identity_checks:
        check(volume, root)


def volume_expected_offline(*, volume: Volume) -> str | None:
    for reason in _offline_reasons:
        found = reason(volume)
        if found:
            return found
    return None


def volume_card_formatted_register(answer: FormattedAt) -> None:
    if answer not in _formatted_at:
        _formatted_at.append(answer)


def volume_card_formatted(*, volume: Volume) -> datetime | None:
    found = [at for answer in _formatted_at if (at := answer(volume)) is not None]
    return max(found, default=None)


def volume_send_off_register(send_off: SendOff) -> None:
    if send_off not in _send_off:
        _send_off.append(send_off)


def volume_send_off(*, actor: AnyUser | None, volume: Volume, to_place: str, condition: str = "") -> bool:
    """Hand the volume to ``to_place`` (in transit until received); False when nobody recorded it."""
    return any(send_off(actor, volume, to_place, condition) for send_off in _send_off)
