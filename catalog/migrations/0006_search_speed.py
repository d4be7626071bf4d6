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
# candidates (every word starts some word of the clip); a regular expression
# checks the rest: catalog_words_pattern('ava st') is
# (^|\x1f)(?=[^\x1f]*\mava)(?=[^\x1f]*\mst), matched case-insensitively against
# the values joined by \x1f. Tokens are runs of letters and digits, so nothing in
# them needs escaping; the pattern of a constant is computed once, when the
# statement is planned (the function is immutable), and each row costs one match.
PARTIAL_NAMES = r"""
CREATE OR REPLACE FUNCTION catalog_words_pattern(q text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '(^|' || chr(31) || ')' || string_agg('(?=[^' || chr(31) || ']*\m' || t || ')', '')
  FROM unnest(catalog_search_tokens(q)) AS t
$$;

-- values ~* pattern, in PL/pgSQL so the planner does not inline it: it then
-- guesses a third of the rows pass (for ~* it guesses a few in a thousand), close
-- to the truth, since the document's GIN look-up has already asked for the same
-- words. With the guess too low, a count of "Ava" read 200,000 index entries
-- through the GIN instead of stopping after 2,501 matches in table order. COST 5:
-- one match costs about what a tsvector test does, not the default of 100.
CREATE OR REPLACE FUNCTION catalog_words_start(value text, pattern text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 5 AS $$
BEGIN
  RETURN value ~* pattern;
END
$$;
"""

DROP_PARTIAL_NAMES = """
DROP FUNCTION IF EXISTS catalog_words_start(text, text);
DROP FUNCTION IF EXISTS catalog_words_pattern(text);
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
