# Search at a million clips and beyond (issue 17): a stored search document,
# partial names in the actor and location filters, an index per sort order.

from django.db import migrations, models

# The document catalog_clip_document computes (migration 0004), stored once per
# row. A GIN index on the expression had to recompute it (15-30 us) for every
# candidate row it rechecks, and a prefix query such as 'rain':* always rechecks:
# 12,500 matches cost 150 ms of function calls. Stored, the recheck is a
# comparison, and a walk in sort order can test each row cheaply. The model does
# not declare the column, so ordinary clip reads never load it.
SEARCH_DOCUMENT = r"""
ALTER TABLE catalog_clip ADD COLUMN IF NOT EXISTS search_document tsvector
  GENERATED ALWAYS AS (catalog_clip_document(
    name, scene, take, camera, reel, "cast", location, lens, codec, notes)) STORED;
CREATE INDEX IF NOT EXISTS clip_search_document_gin ON catalog_clip USING gin (search_document);
"""

DROP_SEARCH_DOCUMENT = """
DROP INDEX IF EXISTS clip_search_document_gin;
ALTER TABLE catalog_clip DROP COLUMN IF EXISTS search_document;
"""

# Partial names in the filters: "Ava" finds "Ava Stone", "harb" finds "Harbour".
# Every word of the text must start a word of one value (one actor, the
# location), tokenized as free text is. The document's GIN index finds the
# candidates (every word starts some word of the clip); these check the rest.
PARTIAL_NAMES = r"""
CREATE OR REPLACE FUNCTION catalog_words_prefixed(value text, q text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT NOT EXISTS (
    SELECT 1 FROM unnest(catalog_search_tokens(q)) AS t
    WHERE NOT EXISTS (SELECT 1 FROM unnest(catalog_search_tokens(value)) AS w WHERE starts_with(w, t)))
$$;

CREATE OR REPLACE FUNCTION catalog_any_words_prefixed(value text[], q text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT EXISTS (SELECT 1 FROM unnest(value) AS v WHERE catalog_words_prefixed(v, q))
$$;
"""

DROP_PARTIAL_NAMES = """
DROP FUNCTION IF EXISTS catalog_any_words_prefixed(text[], text);
DROP FUNCTION IF EXISTS catalog_words_prefixed(text, text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_moved_models'),
    ]

    operations = [
        migrations.RunSQL(SEARCH_DOCUMENT, DROP_SEARCH_DOCUMENT),
        migrations.RunSQL(PARTIAL_NAMES, DROP_PARTIAL_NAMES),
        migrations.RemoveIndex(
            model_name='clip',
            name='clip_document_gin',
        ),
        migrations.AddIndex(
            model_name='clip',
            index=models.Index(fields=['project', 'start_tc', 'name', 'id'], name='clip_timecode'),
        ),
    ]
