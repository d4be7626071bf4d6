"""Forms of the metadata pages: rules, clip edit, bulk edit, waive, ALE upload and export."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms

from catalog.models import Clip, Project
from metadata.review import REQUIRABLE_FIELDS, RESTRICTABLE_FIELDS

NAMING_HELP = (
    "Tokens: {camera} (one letter), {roll:03}, {clip:03}, {take:02} (digits, :03 = exactly 3), "
    "{date:%y%m%d}, {card}, {card:4}, {reel}, {reel:3}, {scene}; other text is literal. "
    "ARRI: {camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}"
)
#: The camera settings (catalog migration 0013), editable like the rest.
CAMERA_FIELDS = ("iso", "white_balance_k", "shutter", "iris", "focal_length_mm", "sensor_fps", "look")
CAMERA_RULES_HELP = (
    'JSON, per camera letter: {"A": {"naming_pattern": "…", "fps": "25", '
    '"required_fields": ["scene", "take"], "require_sidecar": true}}'
)


class RulesForm(forms.Form):
    naming_pattern = forms.CharField(required=False, max_length=200, help_text=NAMING_HELP)
    required_fields = forms.MultipleChoiceField(
        required=False, choices=[(f, f) for f in REQUIRABLE_FIELDS], widget=forms.CheckboxSelectMultiple
    )
    allowed_values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"One field per line: `camera: A, B`. Fields: {', '.join(RESTRICTABLE_FIELDS)}.",
    )
    known_cameras = forms.CharField(required=False, help_text="Camera letters of the shoot, e.g. A, B, C.")
    camera_rules = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=CAMERA_RULES_HELP
    )
    require_sidecar = forms.BooleanField(
        required=False, help_text="Every clip must come with a camera sidecar."
    )

    def clean_allowed_values(self) -> dict[str, list[str]]:
        parsed: dict[str, list[str]] = {}
        for number, line in enumerate(self.cleaned_data["allowed_values"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, values = line.partition(":")
            if not sep:
                raise forms.ValidationError(f"line {number}: write `field: value, value`")
            parsed[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
        return parsed

    def clean_known_cameras(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["known_cameras"].split(",") if c.strip()]

    def clean_camera_rules(self) -> dict[str, Any]:
        text = self.cleaned_data["camera_rules"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("write an object keyed by camera letter")
        return value

    @staticmethod
    def initial_from(rules: Any) -> dict[str, Any]:
        return {
            "naming_pattern": rules.naming_pattern,
            "required_fields": rules.required_fields,
            "allowed_values": "\n".join(
                f"{k}: {', '.join(v)}" for k, v in (rules.allowed_values or {}).items()
            ),
            "known_cameras": ", ".join(rules.known_cameras),
            "camera_rules": json.dumps(rules.camera_rules, indent=2) if rules.camera_rules else "",
            "require_sidecar": rules.require_sidecar,
        }


class _CameraSettingsFields(forms.Form):
    """The camera settings (CAMERA_FIELDS) as the single and the bulk edit forms take them.

    Django puts a base form's fields first; the subclasses' ``field_order`` lists
    their own fields so the camera settings follow them, under their heading.
    """

    iso = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, label="ISO")
    white_balance_k = forms.IntegerField(
        required=False,
        min_value=1000,
        max_value=20000,
        label="White balance (K)",
        help_text="Kelvin, e.g. 5600.",
    )
    shutter = forms.CharField(required=False, max_length=20, help_text="An angle (172.8°) or a speed (1/48).")
    iris = forms.CharField(required=False, max_length=20, help_text="T2.3 or F5.6.")
    focal_length_mm = forms.DecimalField(
        required=False, min_value=Decimal("0.1"), max_digits=6, decimal_places=1, label="Focal length (mm)"
    )
    sensor_fps = forms.DecimalField(
        required=False, min_value=Decimal("0.001"), max_digits=7, decimal_places=3, label="Sensor FPS"
    )
    look = forms.CharField(required=False, max_length=200, label="Look / LUT")


class ClipEditForm(_CameraSettingsFields):
    """Every hand-editable field of one clip (metadata.edits.EDITABLE_CLIP_FIELDS)."""

    field_order = [
        *("scene", "take", "circled", "camera", "reel", "cast", "location", "lens", "start_tc", "notes")
    ]
    scene = forms.CharField(required=False, max_length=32)
    take = forms.CharField(required=False, max_length=16)
    circled = forms.BooleanField(required=False)
    camera = forms.CharField(required=False, max_length=20)
    reel = forms.CharField(required=False, max_length=64)
    cast = forms.CharField(required=False, help_text="Names separated by commas.")
    location = forms.CharField(required=False, max_length=200)
    lens = forms.CharField(required=False, max_length=120)
    start_tc = forms.CharField(required=False, max_length=11, label="Start TC", help_text="HH:MM:SS:FF")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_from(clip: Clip) -> dict[str, Any]:
        return {
            "scene": clip.scene,
            "take": clip.take,
            "circled": clip.circled,
            "camera": clip.camera,
            "reel": clip.reel,
            "cast": ", ".join(clip.cast),
            "location": clip.location,
            "lens": clip.lens,
            "start_tc": clip.start_tc,
            "notes": clip.notes,
            **{name: getattr(clip, name) for name in CAMERA_FIELDS},
        }

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["cast"] = [c.strip() for c in data["cast"].split(",") if c.strip()]
        return data


class BulkEditForm(_CameraSettingsFields):
    """Values to set on every selected clip; empty fields are left as they are."""

    field_order = ["scene", "take", "circled", "camera", "reel", "cast", "location", "lens", "notes"]
    scene = forms.CharField(required=False, max_length=32)
    take = forms.CharField(required=False, max_length=16)
    circled = forms.ChoiceField(
        required=False, choices=[("", "leave as is"), ("yes", "circled"), ("no", "not circled")]
    )
    camera = forms.CharField(required=False, max_length=20)
    reel = forms.CharField(required=False, max_length=64)
    cast = forms.CharField(required=False, help_text="Names separated by commas (replaces the cast).")
    location = forms.CharField(required=False, max_length=200)
    lens = forms.CharField(required=False, max_length=120)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    clips = forms.ModelMultipleChoiceField(queryset=Clip.objects.none(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clips"].queryset = Clip.objects.filter(project=project)  # type: ignore[attr-defined]

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changes: dict[str, Any] = {
            name: data[name]
            for name in (
                "scene",
                "take",
                "camera",
                "reel",
                "location",
                "lens",
                "notes",
                "shutter",
                "iris",
                "look",
            )
            if data[name].strip()
        }
        changes.update(
            {
                name: data[name]
                for name in ("iso", "white_balance_k", "focal_length_mm", "sensor_fps")
                if data[name] is not None
            }
        )
        if data["cast"].strip():
            changes["cast"] = [c.strip() for c in data["cast"].split(",") if c.strip()]
        if data["circled"]:
            changes["circled"] = data["circled"] == "yes"
        return changes

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.changes():
            raise forms.ValidationError("Fill in at least one field to set on the selected clips.")
        return cleaned


class WaiveForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AleUploadForm(forms.Form):
    file = forms.FileField(help_text="An ALE (.ale) or clip CSV (.csv), up to 50 MB.")
    ignore_unknown_columns = forms.BooleanField(
        required=False,
        help_text="Import even if the file has columns Reelvault does not know (they are skipped).",
    )


class ExportForm(forms.Form):
    day = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    card = forms.ChoiceField(required=False)
    format = forms.ChoiceField(choices=[("ale", "ALE (Avid, Resolve)"), ("csv", "CSV")], initial="ale")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = [(str(d.number), f"Day {d.number} ({d.date})") for d in project.days.all()]
        cards = [(v.label, v.label) for v in project.volumes.filter(kind="card").order_by("label")]
        self.fields["day"].choices = [("", "any day"), *days]  # type: ignore[attr-defined]
        self.fields["card"].choices = [("", "any card"), *cards]  # type: ignore[attr-defined]
