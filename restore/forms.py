"""The restore request form: the current selection, a scene, a shoot day or a card; a target; a reason.

People never type or see clip ids here: the selection made on the search page
(ticked clips, or every match of a search) arrives in hidden fields and is shown
as clip names; scenes, days and cards are picked from the project's own.
"""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import Project, ShootDay, Volume
from restore.models import RestoreTarget
from restore.services import Selection

#: Scenes offered in the form's list (a project seldom has more; the API takes any).
SCENE_CHOICES_LIMIT = 2_000


class DayChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # ModelChoiceField generics vary
    def label_from_instance(self, obj: Any) -> str:
        day: ShootDay = obj
        unit = "" if day.unit == "main" else f", {day.unit} unit"
        return f"Day {day.number} — {day.date:%a %d %b %Y}{unit}"


class CardChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)


class TargetChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        target: RestoreTarget = obj
        return f"{target.name} — {target.description}" if target.description else target.name


class RestoreRequestForm(forms.Form):
    BY = [
        ("selection", "The selected clips"),
        ("scene", "A whole scene"),
        ("day", "A whole shoot day"),
        ("card", "A card"),
    ]

    by = forms.ChoiceField(choices=BY, widget=forms.RadioSelect, initial="scene", label="Restore")
    # The selection from the search page (catalog/selection.py): ticked clips, or a search's query.
    clips = forms.CharField(required=False, widget=forms.HiddenInput)
    search = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
    scene = forms.ChoiceField(required=False, choices=())
    day = DayChoiceField(queryset=ShootDay.objects.none(), required=False, label="Shoot day")
    card = CardChoiceField(queryset=Volume.objects.none(), required=False, to_field_name="label")
    target = TargetChoiceField(queryset=RestoreTarget.objects.none(), to_field_name="name")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, project: Project, has_selection: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scenes = (
            project.clips.exclude(scene="")
            .order_by("scene")
            .values_list("scene", flat=True)
            .distinct()[:SCENE_CHOICES_LIMIT]
        )
        scene_choices = [("", "— pick a scene —"), *((s, s) for s in scenes)]
        self.fields["scene"].choices = scene_choices  # type: ignore[attr-defined]  # a ChoiceField
        self.fields["day"].queryset = project.days.order_by("date", "number", "unit")  # type: ignore[attr-defined]
        self.fields["day"].empty_label = "— pick a day —"  # type: ignore[attr-defined]
        self.fields["card"].queryset = project.volumes.filter(kind=Volume.Kind.CARD).order_by("label")  # type: ignore[attr-defined]
        self.fields["card"].empty_label = "— pick a card —"  # type: ignore[attr-defined]
        self.fields["target"].queryset = project.restore_targets.all()  # type: ignore[attr-defined]
        if not has_selection:
            self.fields["by"].choices = self.BY[1:]  # type: ignore[attr-defined]

    def clean_clips(self) -> list[int]:
        raw = str(self.cleaned_data.get("clips") or "")
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError(
                "The selection was damaged: select the clips again on the search page."
            )
        return [int(p) for p in parts]

    def selection(self) -> Selection:
        data = self.cleaned_data
        by = data["by"]
        if by == "scene":
            if not data.get("scene"):
                raise forms.ValidationError("Pick the scene.")
            return Selection(scene=data["scene"])
        if by == "day":
            if data.get("day") is None:
                raise forms.ValidationError("Pick the shoot day.")
            return Selection(day=data["day"].number, unit=data["day"].unit)
        if by == "card":
            if data.get("card") is None:
                raise forms.ValidationError("Pick the card.")
            return Selection(card=data["card"].label)
        if data.get("search"):
            return Selection(search=data["search"])
        if not data.get("clips"):
            raise forms.ValidationError("Nothing is selected: tick clips on the search page first.")
        return Selection(clips=tuple(data["clips"]))


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
