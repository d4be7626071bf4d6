"""Seed the crew roles beyond editorial: colorist, VFX and IT support (capabilities: catalog/permissions.py)."""

from django.db import migrations

ROLES = [
    ("colorist", "Colorist", "Reads the catalog like an editor; requests restores to the colour target."),
    ("vfx", "VFX", "Reads the catalog like an editor; requests restores to the VFX target."),
    (
        "it_support",
        "IT support",
        "Sees alerts, volumes and drive health and acknowledges alerts; no metadata edits.",
    ),
]


def seed_roles(apps, schema_editor):
    Role = apps.get_model("catalog", "Role")
    for name, label, description in ROLES:
        Role.objects.update_or_create(name=name, defaults={"label": label, "description": description})


def unseed_roles(apps, schema_editor):
    apps.get_model("catalog", "Role").objects.filter(name__in=[name for name, _, _ in ROLES]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_policy_sites_worm")]

    operations = [migrations.RunPython(seed_roles, unseed_roles)]
