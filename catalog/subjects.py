"""What an audit entry is about, in catalog terms, for features that follow other features' work.

An incident's timeline (``recovery``) gathers the restores, custody handoffs
and fixity audits that concern it; features never import each other, so each
feature that writes such entries registers here at startup how to read its
own: a line of text, a link, and the catalog objects it concerns (volumes,
shoot days, clips, and keys of alerts it raised). ``recovery`` subscribes to
the audit log (``catalog.audit.audit_listen``) and asks here. The registry is
the same shape as ``catalog/runbook.py`` and ``catalog/volumes.py``.

To describe a new kind of entry: write ``describe(event) -> Subject | None``
in the feature (None: the entry is not timeline material, e.g. a drill's
restore) and call ``subject_describer_register`` for its actions in the
feature's ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from catalog.models import AuditEvent


@dataclass(frozen=True)
class Subject:
    """One audit entry as a timeline line, and what it concerns."""

    kind: str  # "restore", "custody", "fixity"
    text: str  # "Restore 12 verified: 40 files (1.2 GB) at editorial"
    link: str = ""  # the page about it
    volume_ids: frozenset[int] = field(default_factory=frozenset)
    day_ids: frozenset[int] = field(default_factory=frozenset)
    clip_ids: frozenset[int] = field(default_factory=frozenset)
    alert_keys: frozenset[str] = field(default_factory=frozenset)


Describer = Callable[[AuditEvent], "Subject | None"]
_describers: dict[str, Describer] = {}


def subject_describer_register(actions: Iterable[str], describer: Describer) -> None:
    """Install how entries of these actions read on a timeline (a feature's ``AppConfig.ready``)."""
    for action in actions:
        _describers[action] = describer


def subject_actions() -> frozenset[str]:
    """The actions some feature describes (the others never go on a timeline)."""
    return frozenset(_describers)


def subject_of(event: AuditEvent) -> Subject | None:
    """The entry as a timeline line with what it concerns; None when no feature describes it."""
    describer = _describers.get(event.action)
    return describer(event) if describer is not None else None
