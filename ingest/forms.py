from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from catalog.models import Project, ShootDay, Volume
from core import names
from ingest import selectors

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
