"""Block TRUNCATE of the audit log.

Row triggers (0002) do not fire on TRUNCATE, which emptied the log and left
`audit_verify` reporting an intact, empty chain. This statement trigger
refuses it, whoever asks; only a database superuser who first sets
`reelvault.audit_truncate = 'allow'` in their session gets through (a
superuser could disable the trigger anyway). The test suite sets it on its
throw-away database, because Django's test teardown empties tables with
TRUNCATE. The audit anchors (`audit_verify`) catch an emptied log regardless.
"""

from django.db import migrations

GUARD_SQL = """
CREATE OR REPLACE FUNCTION reelvault_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('reelvault.audit_truncate', true), '') = 'allow'
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE of catalog_auditevent is not allowed'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_no_truncate
    BEFORE TRUNCATE ON catalog_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION reelvault_audit_no_truncate();
"""

UNGUARD_SQL = """
DROP TRIGGER IF EXISTS audit_no_truncate ON catalog_auditevent;
DROP FUNCTION IF EXISTS reelvault_audit_no_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_copy_same_project")]

    operations = [migrations.RunSQL(GUARD_SQL, UNGUARD_SQL)]
