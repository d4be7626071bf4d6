"""Every actor name ever cataloged, for the actor filter (issue 17).

``catalog_cast_name`` holds each distinct actor name once, with its lower-cased
form as ``catalog_lower_array`` makes it. Statement-level triggers on
``catalog_clip`` add the names of inserted and updated clips (one ``INSERT ...
ON CONFLICT DO NOTHING`` per statement, so a bulk ``COPY`` pays once); names are
never removed, so the table holds every name some clip has, and maybe a few no
clip has any more, which costs nothing but a row.

The actor filter then reads the few names the words start (a scan of this
small table, one regular expression a name) and finds their clips through
``clip_cast_folded_gin`` (exact keys), instead of two prefix look-ups in the
document's GIN (20-60 ms for a full name at a million clips).

``clip_short_of_copies`` indexes the clips with fewer than 2 verified copies (a
partial index the copy-count triggers keep by updating the column): ``copies_lt=2``
counts and collects them index-only, in name order.
"""

from django.db import migrations, models

CAST_NAMES = r"""
CREATE TABLE catalog_cast_name (
  name text PRIMARY KEY,
  folded text NOT NULL
);

CREATE OR REPLACE FUNCTION catalog_cast_names_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catalog_cast_name (name, folded)
  SELECT DISTINCT a, lower(a) FROM new_rows AS n, unnest(n."cast") AS a WHERE a <> ''
  ON CONFLICT (name) DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER catalog_cast_names_on_insert AFTER INSERT ON catalog_clip
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_cast_names_add();
CREATE TRIGGER catalog_cast_names_on_update AFTER UPDATE ON catalog_clip
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_cast_names_add();

INSERT INTO catalog_cast_name (name, folded)
SELECT DISTINCT a, lower(a) FROM catalog_clip AS c, unnest(c."cast") AS a WHERE a <> ''
ON CONFLICT (name) DO NOTHING;
ANALYZE catalog_cast_name;
"""

DROP_CAST_NAMES = """
DROP TRIGGER IF EXISTS catalog_cast_names_on_update ON catalog_clip;
DROP TRIGGER IF EXISTS catalog_cast_names_on_insert ON catalog_clip;
DROP FUNCTION IF EXISTS catalog_cast_names_add();
DROP TABLE IF EXISTS catalog_cast_name;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_camera_settings"),
    ]

    operations = [
        migrations.RunSQL(CAST_NAMES, DROP_CAST_NAMES),
        migrations.AddIndex(
            model_name="clip",
            index=models.Index(
                condition=models.Q(("min_verified_copies__lt", 2)),
                fields=["project", "name", "id"],
                name="clip_short_of_copies",
            ),
        ),
    ]
