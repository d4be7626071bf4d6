"""Forms of the custody pages: register and edit a volume, hand it over, receive it."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from catalog.models import Project, Volume
from custody.services import DEFAULT_PATTERN

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}
_SIZE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([KMGTP]?B?)\s*$", re.IGNORECASE)


class SizeField(forms.CharField):
    """A size typed the way it is printed on the drive: ``4 TB``, ``512 GB``, or plain bytes."""

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        match = _SIZE.match(text)
        if match is None:
            raise forms.ValidationError("Give a size such as 4 TB, 512 GB or a number of bytes.")
        number, unit = match.groups()
        unit = unit.upper()
        if unit and not unit.endswith("B"):
            unit += "B"
        return int(float(number.replace(",", ".")) * _UNITS[unit])


def _seal_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s;]+", text) if part.strip()]


class VolumeRegisterForm(forms.Form):
    kind = forms.ChoiceField(choices=Volume.Kind.choices, initial=Volume.Kind.SHUTTLE)
    pattern = forms.CharField(
        label="Identifier pattern",
        initial=DEFAULT_PATTERN,
        max_length=64,
        help_text="{project}, {kind} (SH for a shuttle) and a counter {n:03d}; or a fixed identifier.",
    )
    label = forms.CharField(
        max_length=64, required=False, help_text="Name in the catalog; the identifier when empty."
    )
    tier = forms.ChoiceField(choices=Volume.Tier.choices, initial=Volume.Tier.HOT)
    host = forms.CharField(max_length=255, required=False, help_text="Host that mounts it, if any.")
    location = forms.CharField(max_length=1024, help_text="Mount path on its host, or s3://bucket/prefix.")
    offsite = forms.BooleanField(required=False, label="Off-site")
    worm = forms.BooleanField(required=False, label="WORM (write once)")
    capacity_bytes = SizeField(required=False, label="Capacity", help_text="e.g. 4 TB")
    serial = forms.CharField(max_length=100, required=False)
    drive_model = forms.CharField(max_length=120, required=False, label="Model")
    site = forms.CharField(max_length=120, required=False, help_text="Where it normally lives.")
    purchase_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Purchase date"
    )
    owner = forms.CharField(max_length=120, required=False, help_text="Rental house or production.")
    device = forms.CharField(
        max_length=255,
        required=False,
        label="SMART device",
        help_text="Block device for SMART when the mount point does not reveal it (e.g. /dev/sdb).",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].initial = settings.REELVAULT_HOSTNAME


class VolumeEditForm(VolumeRegisterForm):
    identifier = forms.CharField(max_length=64)
    clear_seal_problem = forms.BooleanField(
        required=False, label="The seal problem was checked: clear the flag"
    )

    field_order = ["identifier"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("kind", "pattern"):
            del self.fields[name]


class HandoffForm(forms.Form):
    to_user: forms.ModelChoiceField[AbstractBaseUser] = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="To a person",
        empty_label="— nobody: a place —",
    )
    to_place = forms.CharField(
        max_length=120, required=False, label="or to a place", help_text="e.g. Lab, Vault"
    )
    from_place = forms.CharField(
        max_length=120, required=False, label="From (place)", help_text="Empty: whoever holds it now."
    )
    where = forms.CharField(max_length=200, required=False, help_text="Where the handoff happens.")
    seals = forms.CharField(
        max_length=400,
        required=False,
        label="Seal numbers applied",
        help_text="Separated by commas or spaces.",
    )
    condition = forms.CharField(max_length=200, required=False, help_text="e.g. sealed case, no damage")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from custody.selectors import members

        self.fields["to_user"].queryset = members(project=project)  # type: ignore[attr-defined]  # a ModelChoiceField

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("to_user") and not (data.get("to_place") or "").strip():
            raise forms.ValidationError("Say to whom or to which place the volume goes.")
        return data

    def seal_list(self) -> list[str]:
        return _seal_list(self.cleaned_data.get("seals", ""))

    def receiver(self) -> AbstractBaseUser | None:
        user: AbstractBaseUser | None = self.cleaned_data.get("to_user")
        return user


class ReceiveForm(forms.Form):
    seals_found = forms.CharField(
        max_length=400,
        required=False,
        label="Seal numbers you find",
        help_text="Type each seal number you read on the volume, separated by commas or spaces.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Condition on arrival"
    )

    def seal_list(self) -> list[str]:
        return _seal_list(self.cleaned_data.get("seals_found", ""))


class LabelSheetForm(forms.Form):
    sheet = forms.ChoiceField(
        choices=[
            ("L7160", "Avery L7160 (A4, 21 up)"),
            ("L7163", "Avery L7163 (A4, 14 up)"),
            ("5160", "Avery 5160 (Letter, 30 up)"),
        ],
        initial="L7160",
    )
    skip = forms.IntegerField(min_value=0, max_value=29, initial=0, required=False, label="Skip used labels")


class QuotaForm(forms.Form):
    kind = forms.ChoiceField(choices=[c for c in Volume.Kind.choices if c[0] != Volume.Kind.CARD])
    quota_bytes = SizeField(
        required=False, label="Quota", help_text="e.g. 40 TB; empty removes the kind's quota."
    )
    planned_bytes_per_day = SizeField(
        required=False, label="Planned per shoot day", help_text="e.g. 2 TB; drift from it is flagged."
    )


class CardFormatForm(forms.Form):
    camera = forms.CharField(max_length=60, required=False, help_text="The camera it goes back to, e.g. A.")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
