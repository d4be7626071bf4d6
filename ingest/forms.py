from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from catalog.models import Project, ShootDay, Volume
from core import names
from ingest import selectors
from ingest.models import OffloadPreset

if TYPE_CHECKING:
    _VolumeChoices = forms.ModelMultipleChoiceField[Volume]
else:  # Django's form fields are not generic at run time
    _VolumeChoices = forms.ModelMultipleChoiceField


class DestinationField(_VolumeChoices):
    def label_from_instance(self, obj: Volume) -> str:
        """The volume, and its drive health when it is not plainly healthy (a DIT picks with that in view)."""
        if obj.health in (Volume.Health.WARNING, Volume.Health.FAILING):
            return f"{obj} — drive health {obj.get_health_display().lower()}"
        return str(obj)


class OffloadForm(forms.Form):
    source = forms.ChoiceField(label="Card", help_text="A card mounted under this host's ingest roots.")
    destinations = DestinationField(
        queryset=Volume.objects.none(), widget=forms.CheckboxSelectMultiple, label="Destinations"
    )
    label = forms.CharField(
        required=False,
        max_length=names.LABEL_MAX,
        validators=[names.validate_label],
        help_text="Card label; defaults to the card folder's name.",
    )
    day = forms.ModelChoiceField(queryset=ShootDay.objects.none(), required=False, label="Shoot day")
    md5 = forms.BooleanField(required=False, label="Also MD5")
    sha1 = forms.BooleanField(required=False, label="Also SHA-1")
    confirm_warning = forms.BooleanField(
        required=False,
        label="Write to a drive in warning health anyway",
        help_text="Recorded on the job and in the audit log. A failing drive is always refused.",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices depend on this host's mounted cards and the project: set per form.
        source, destinations, day = self.fields["source"], self.fields["destinations"], self.fields["day"]
        assert isinstance(source, forms.ChoiceField)
        assert isinstance(destinations, forms.ModelMultipleChoiceField)
        assert isinstance(day, forms.ModelChoiceField)
        candidates = selectors.card_candidates()
        self.warnings = selectors.cards_offloaded_not_formatted(
            project=project, labels=[c.label for c in candidates]
        )
        source.choices = [
            (
                str(c.path),
                f"{c.label}  ({c.path})"
                + (" — already offloaded" if c.label.upper() in self.warnings else ""),
            )
            for c in candidates
        ]
        destinations.queryset = selectors.destination_volumes(project=project)
        day.queryset = ShootDay.objects.filter(project=project)
        day.help_text = "Left empty: the day the card was recorded, else the project's current day."


class PresetForm(forms.Form):
    destinations = DestinationField(
        queryset=Volume.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Destinations",
        required=False,
    )
    md5 = forms.BooleanField(required=False, label="Also MD5")
    sha1 = forms.BooleanField(required=False, label="Also SHA-1")
    folder_template = forms.CharField(
        max_length=300,
        initial="{card}",
        widget=forms.TextInput(attrs={"size": 50}),
        label="Folder on each destination",
        help_text="Fields: {project}, {day} (e.g. {day:03}), {date} (e.g. {date:%Y%m%d}), {unit}, {camera}, "
        "{card}. "
        "Relative to the destination; must contain {card}.",
    )
    day_rule = forms.ChoiceField(choices=OffloadPreset.DayRule.choices, label="Shoot day")
    auto_start = forms.BooleanField(
        required=False,
        label="Start on its own when a new card appears",
        help_text="Only on hosts that allow it (REELVAULT_AUTO_OFFLOAD=1).",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        destinations = self.fields["destinations"]
        assert isinstance(destinations, forms.ModelMultipleChoiceField)
        destinations.queryset = selectors.destination_volumes(project=project)
