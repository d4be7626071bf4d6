"""Catalog writes. Each top-level service owns its transaction and writes its audit entry in it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from catalog.audit import audit_record, model_snapshot
from catalog.models import Membership, Project, Role, ShootDay, Volume
from catalog.permissions import AnyUser, RoleName
from catalog.worm import worm_volume_change_refuse

VOLUME_FIELDS = (
    "kind",
    "tier",
    "host",
    "location",
    "offsite",
    "worm",
    "capacity_bytes",
    "online",
    "health",
    "serial",
)


@transaction.atomic(durable=True)
def project_create(*, actor: AnyUser | None, code: str, name: str, required_copies: int = 2) -> Project:
    project = Project(code=code.upper(), name=name, required_copies=required_copies)
    project.full_clean()
    project.save()
    audit_record(
        actor=actor, action="project.create", obj=project, project=project, after=model_snapshot(project)
    )
    return project


@transaction.atomic(durable=True)
def membership_set(
    *, actor: AnyUser | None, project: Project, user: AbstractBaseUser, role: RoleName | None
) -> Membership | None:
    """Grant ``role`` to ``user`` on ``project``, or revoke with ``role=None``.

    Returns the membership, or None when revoked. A permission change is a
    sensitive action: it is always audit-logged with before and after.
    """
    existing = Membership.objects.filter(project=project, user_id=user.pk).first()
    before = {"role": existing.role_id} if existing else {"role": None}
    if role is None:
        if existing:
            existing.delete()
        result = None
    else:
        result, _ = Membership.objects.update_or_create(
            project=project, user_id=user.pk, defaults={"role": Role.objects.get(pk=role.value)}
        )
    audit_record(
        actor=actor,
        action="membership.set",
        project=project,
        object_type="auth.user",
        object_id=str(user.pk),
        before={"user": user.get_username(), **before},
        after={"user": user.get_username(), "role": role.value if role else None},
    )
    return result


@transaction.atomic(durable=True)
def shoot_day_create(
    *, actor: AnyUser | None, project: Project, number: int, day_date: date, unit: str = "main"
) -> ShootDay:
    day = ShootDay(project=project, number=number, date=day_date, unit=unit)
    day.full_clean()
    day.save()
    audit_record(actor=actor, action="day.create", obj=day, project=project, after=model_snapshot(day))
    return day


@transaction.atomic(durable=True)
def volume_register(
    *, actor: AnyUser | None, project: Project, label: str, kind: str, location: str, **fields: Any
) -> Volume:
    volume = Volume(project=project, label=label, kind=kind, location=location, **fields)
    volume.full_clean()
    volume.save()
    audit_record(
        actor=actor, action="volume.register", obj=volume, project=project, after=model_snapshot(volume)
    )
    return volume


def volume_update(*, actor: AnyUser | None, volume: Volume, changes: Mapping[str, Any]) -> Volume:
    """Change a volume's fields, audited. Raises Refused (audited) when a WORM volume holding copies
    would be made rewritable (catalog.worm), checked before the transaction so the refusal commits."""
    worm_volume_change_refuse(actor=actor, volume=volume, action="volume.update", changes=changes)
    return _volume_update(actor=actor, volume=volume, changes=changes)


@transaction.atomic(durable=True)
def _volume_update(*, actor: AnyUser | None, volume: Volume, changes: Mapping[str, Any]) -> Volume:
    unknown = set(changes) - set(VOLUME_FIELDS)
    if unknown:
        raise ValueError(f"these volume fields cannot be changed: {', '.join(sorted(unknown))}")
    volume = Volume.objects.select_for_update().get(pk=volume.pk)
    before = model_snapshot(volume, list(changes))
    for name, value in changes.items():
        setattr(volume, name, value)
    volume.full_clean()
    volume.save()
    audit_record(
        actor=actor,
        action="volume.update",
        obj=volume,
        project=volume.project,
        before=before,
        after=model_snapshot(volume, list(changes)),
    )
    return volume
