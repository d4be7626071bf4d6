"""Seed the five roles and make the audit table append-only.

The trigger rejects UPDATE and DELETE on every row, whoever asks, through
the ORM or raw SQL. Only a superuser who disables the trigger can alter a
row, and the hash chain (manage.py audit_verify) exposes that.
"""

from django.db import migrations

ROLES = [
    ("admin", "Admin", "Runs the project in Reelvault: everything, including approving restores and roles."),
    ("producer", "Producer", "Sees every day's backup status, signs days off, reads the audit log."),
    ("editor", "Editor", "Searches and logs takes, edits metadata, requests restores."),
    ("dit", "DIT / data wrangler", "Offloads cards, manages volumes and drives, fixes metadata."),
    ("viewer", "Viewer", "Reads the catalog, nothing more."),
]

GUARD_SQL = """
CREATE OR REPLACE FUNCTION reelvault_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on catalog_auditevent is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON catalog_auditevent
    FOR EACH ROW EXECUTE FUNCTION reelvault_audit_append_only();
"""

UNGUARD_SQL = """
DROP TRIGGER IF EXISTS audit_append_only ON catalog_auditevent;
DROP FUNCTION IF EXISTS reelvault_audit_append_only();
"""


def seed_roles(apps, schema_editor):
    Role = apps.get_model("catalog", "Role")
    for name, label, description in ROLES:
        Role.objects.update_or_create(name=name, defaults={"label": label, "description": description})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(seed_roles, migrations.RunPython.noop),
        migrations.RunSQL(GUARD_SQL, UNGUARD_SQL),
    ]
