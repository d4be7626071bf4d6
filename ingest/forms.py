from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import Project, ShootDay, Volume
from core import names
from ingest import selectors


class OffloadForm(forms.Form):
    source = forms.ChoiceField(label="Card", help_text="A card mounted under this host's ingest roots.")
    destinations = forms.ModelMultipleChoiceField(
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

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices depend on this host's mounted cards and the project: set per form.
        source, destinations, day = self.fields["source"], self.fields["destinations"], self.fields["day"]
        assert isinstance(source, forms.ChoiceField)
        assert isinstance(destinations, forms.ModelMultipleChoiceField)
        assert isinstance(day, forms.ModelChoiceField)
        source.choices = [(str(c.path), f"{c.label}  ({c.path})") for c in selectors.card_candidates()]
        destinations.queryset = selectors.destination_volumes(project=project)
        day.queryset = ShootDay.objects.filter(project=project)
