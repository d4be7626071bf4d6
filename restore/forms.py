"""The restore request form: a set of clips (ids, a scene, a shoot day or a card), a target, a reason."""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import Project, ShootDay, Volume
from restore.models import RestoreTarget
from restore.services import Selection


class RestoreRequestForm(forms.Form):
    BY = [
        ("clips", "These clips"),
        ("scene", "A whole scene"),
        ("day", "A whole shoot day"),
        ("card", "A card"),
    ]

    by = forms.ChoiceField(choices=BY, widget=forms.RadioSelect, initial="clips", label="Restore")
    clips = forms.CharField(required=False, help_text="Clip ids, separated by commas (from the search page).")
    scene = forms.CharField(required=False, max_length=32)
    day = forms.ModelChoiceField(queryset=ShootDay.objects.none(), required=False)
    card = forms.ModelChoiceField(queryset=Volume.objects.none(), required=False, to_field_name="label")
    target = forms.ModelChoiceField(queryset=RestoreTarget.objects.none(), to_field_name="name")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].queryset = project.days.all()  # type: ignore[attr-defined]
        self.fields["card"].queryset = project.volumes.filter(kind=Volume.Kind.CARD)  # type: ignore[attr-defined]
        self.fields["target"].queryset = project.restore_targets.all()  # type: ignore[attr-defined]

    def clean_clips(self) -> list[int]:
        raw = str(self.cleaned_data.get("clips") or "")
        parts = [p.strip() for p in raw.replace(" ", ",").split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError("Clip ids are whole numbers separated by commas.")
        return [int(p) for p in parts]

    def selection(self) -> Selection:
        data = self.cleaned_data
        by = data["by"]
        if by == "scene":
            if not data.get("scene"):
                raise forms.ValidationError("Name the scene.")
            return Selection(scene=data["scene"])
        if by == "day":
            if data.get("day") is None:
                raise forms.ValidationError("Pick the shoot day.")
            return Selection(day=data["day"].number, unit=data["day"].unit)
        if by == "card":
            if data.get("card") is None:
                raise forms.ValidationError("Pick the card.")
            return Selection(card=data["card"].label)
        if not data.get("clips"):
            raise forms.ValidationError("Give at least one clip id.")
        return Selection(clips=tuple(data["clips"]))


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
