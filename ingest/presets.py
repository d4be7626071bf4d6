"""Offload presets: how a project offloads a card, and the host watcher that starts them on their own.

A preset (one per project) names the destinations, extra hashes, the folder
template and the day rule. With ``auto_start`` on, and on a host that opts in
(``REELVAULT_AUTO_OFFLOAD=1``), a new card appearing under the host's ingest
roots is offloaded with it, without a click:

1. beat runs ``cards_watch_dispatch`` every ``REELVAULT_CARD_WATCH_SECONDS``: one
   ``cards_watch`` job to the queue of each host that mounts a destination of an
   auto-start preset (the cards are where the destinations are);
2. on the host, ``cards_watch`` returns at once unless the host opted in; it
   surveys each mounted card and, for a card identity not seen before,
   records a ``CardSighting`` (unique per project and identity: the same card
   is never started twice, even by two watchers at once) and creates the job
   in the same transaction. A card already being offloaded (the
   one-active-offload-per-card rule) or refused (a failing drive...) is
   recorded with the reason and not retried until it changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction

from catalog.audit import audit_record
from catalog.models import Project, Volume
from catalog.permissions import AnyUser
from copyengine import hashing
from core.queues import host_queue
from formats import foldertemplate
from ingest import selectors, services
from ingest.models import CardSighting, OffloadPreset

logger = logging.getLogger(__name__)

EXTRA_HASHES = ("md5", "sha1")


class PresetError(ValueError):
    """A preset that cannot be saved; the message names the field and the remedy."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@transaction.atomic(durable=True)
def offload_preset_save(
    *,
    actor: AnyUser | None,
    project: Project,
    destinations: Sequence[Volume],
    algorithms: Sequence[str],
    folder_template: str,
    day_rule: str,
    auto_start: bool,
) -> OffloadPreset:
    """Create or replace the project's offload preset; audited with before and after.

    Raises:
        PresetError: an unknown hash, a bad folder template, a destination of
            another project or a camera card, or auto start without destinations.
    """
    unknown = [a for a in algorithms if a not in EXTRA_HASHES]
    if unknown or not set(algorithms) <= set(hashing.ALGORITHMS):
        raise PresetError("algorithms", f"unknown hash {', '.join(unknown)}; choose among md5 and sha1")
    try:
        template = foldertemplate.validate(folder_template)
    except foldertemplate.FolderTemplateError as exc:
        raise PresetError("folder_template", str(exc)) from None
    if day_rule not in OffloadPreset.DayRule.values:
        raise PresetError("day_rule", f"unknown day rule {day_rule!r}")
    for volume in destinations:
        if volume.project_id != project.pk or volume.kind in (Volume.Kind.CARD, Volume.Kind.S3):
            raise PresetError(
                "destinations", f"{volume.label} cannot be an offload destination of {project.code}"
            )
    if auto_start and not destinations:
        raise PresetError("destinations", "an offload that starts on its own needs at least one destination")
    preset = OffloadPreset.objects.select_for_update().filter(project=project).first()
    before = _preset_state(preset) if preset is not None else None
    preset = preset or OffloadPreset(project=project)
    preset.algorithms = sorted(set(algorithms))
    preset.folder_template = template
    preset.day_rule = day_rule
    preset.auto_start = auto_start
    preset.updated_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    preset.full_clean()
    preset.save()
    preset.destinations.set(destinations)
    audit_record(
        actor=actor,
        action="offload_preset.save",
        obj=project,
        project=project,
        before=before,
        after=_preset_state(preset),
    )
    return preset


def _preset_state(preset: OffloadPreset) -> dict[str, object]:
    return {
        "destinations": sorted(v.label for v in preset.destinations.all()),
        "hashes": list(preset.algorithms),
        "folder_template": preset.folder_template,
        "day_rule": preset.day_rule,
        "auto_start": preset.auto_start,
    }


def cards_watch_dispatch() -> list[str]:
    """Send a card watch to each host mounting a destination of an auto-start preset; return the hosts."""
    from ingest.tasks import cards_watch_task

    hosts = sorted(
        set(
            Volume.objects.filter(offload_presets__auto_start=True)
            .exclude(host="")
            .values_list("host", flat=True)
        )
    )
    for host in hosts:
        cards_watch_task.apply_async(
            args=[host], queue=host_queue(host), expires=settings.REELVAULT_CARD_WATCH_SECONDS
        )
    return hosts


def cards_watch(*, host: str | None = None) -> list[CardSighting]:
    """On this host: offload each new card under the ingest roots with the preset; return the new sightings.

    Does nothing unless this host opted in (``REELVAULT_AUTO_OFFLOAD``). A
    card is offloaded for the one project whose auto-start preset has
    destinations mounted on this host; with several such projects nothing is
    started (the DIT picks on the offload screen), and it is logged.
    """
    host = host or settings.REELVAULT_HOSTNAME
    if not settings.REELVAULT_AUTO_OFFLOAD or host != settings.REELVAULT_HOSTNAME:
        return []
    presets = list(
        OffloadPreset.objects.filter(auto_start=True, destinations__host=host)
        .select_related("project")
        .prefetch_related("destinations")
        .distinct()
    )
    if len(presets) != 1:
        if presets:
            logger.warning(
                "auto offload: projects %s all start offloads on %s; start them from the offload screen",
                ", ".join(p.project.code for p in presets),
                host,
            )
        return []
    preset = presets[0]
    seen = set(CardSighting.objects.filter(project=preset.project).values_list("fingerprint", flat=True))
    started: list[CardSighting] = []
    for card in selectors.cards_mounted():
        if card.files == 0 or card.fingerprint in seen:
            continue
        sighting = _card_sighting_start(preset=preset, card=card, host=host)
        if sighting is not None:
            started.append(sighting)
    return started


def _card_sighting_start(
    *, preset: OffloadPreset, card: selectors.CardSurvey, host: str
) -> CardSighting | None:
    """Record the sighting and start the offload, or record why not. None when another watcher was first."""
    destinations = [v for v in preset.destinations.all() if v.host == host and v.online]
    try:
        with transaction.atomic():
            sighting = CardSighting.objects.create(
                project=preset.project, host=host, label=card.label, fingerprint=card.fingerprint
            )
    except IntegrityError:
        return None  # the same card identity, recorded by another watcher run a moment ago
    try:
        job = services.offload_job_create(
            actor=None,
            project=preset.project,
            source=card.path,
            destinations=destinations,
            algorithms=preset.algorithms,
            preset=preset,
        )
    except services.OffloadError as exc:
        CardSighting.objects.filter(pk=sighting.pk).update(error=str(exc)[:2000])
        with transaction.atomic():
            audit_record(
                actor=None,
                action="offload.auto_refused",
                obj=preset.project,
                project=preset.project,
                after={"card": card.label, "host": host, "reason": str(exc)},
            )
        logger.warning("auto offload of %s on %s not started: %s", card.label, host, exc)
    else:
        CardSighting.objects.filter(pk=sighting.pk).update(job=job)
    sighting.refresh_from_db()
    return sighting
