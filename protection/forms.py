"""Forms of the protection pages; they only parse, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import Project, Volume
from protection.models import VolumeGroup


class PolicyForm(forms.Form):
    required_copies = forms.IntegerField(min_value=1, max_value=20, label="Verified copies")
    required_media_kinds = forms.IntegerField(min_value=1, max_value=6, label="Kinds of media")
    required_offsite = forms.IntegerField(min_value=0, max_value=20, label="Off-site copies")
    required_sites = forms.IntegerField(min_value=0, max_value=20, label="Distinct sites")
    worm_tiers = forms.MultipleChoiceField(
        choices=Volume.Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Tiers that must be WORM",
    )


class GroupForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="e.g. shuttles, lto, cloud")
    volumes = forms.ModelMultipleChoiceField(
        queryset=Volume.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["volumes"].queryset = project.volumes.exclude(kind=Volume.Kind.CARD).order_by("label")  # type: ignore[attr-defined]  # ModelMultipleChoiceField


class RuleForm(forms.Form):
    source = forms.ChoiceField(label="Copy what lands on")
    destination = forms.ModelChoiceField(queryset=VolumeGroup.objects.none(), label="to the volume group")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups = VolumeGroup.objects.filter(project=project).order_by("name")
        self.fields["destination"].queryset = groups  # type: ignore[attr-defined]  # ModelChoiceField
        self.fields["source"].choices = [  # type: ignore[attr-defined]  # ChoiceField
            *(
                (f"tier:{value}", f"the {label.split(' ')[0].lower()} tier")
                for value, label in Volume.Tier.choices
            ),
            *((f"group:{g.pk}", f"the group {g.name}") for g in groups),
        ]


class ReplicateForm(forms.Form):
    card = forms.CharField(required=False, label="Card label")
    day = forms.IntegerField(required=False, min_value=1, label="or shoot day")
