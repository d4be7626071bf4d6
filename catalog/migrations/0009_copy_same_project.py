"""A copy's volume and its file belong to the same project, enforced by the database.

Django's admin once let a project admin create a verified copy of one
project's file on another project's volume; catalog/copies.py is the only
writer now, and these triggers make the rule hold whatever writes the row:

- catalog_copy (insert, or a change of volume or file): the volume's project
  is the file's project (its clip's, else its card's);
- catalog_mediafile (insert, or a change of clip or card): its clip and its
  card are of one project, and any copy it has is on a volume of that project;
- catalog_volume (a change of project): no copy, card file or recorded clip
  is left behind in the old project.

Violations raise SQLSTATE 23514 (check_violation), an IntegrityError in Django.
"""

from django.db import migrations

SQL = r"""
CREATE FUNCTION catalog_mediafile_project(file_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(c.project_id, v.project_id)
    FROM catalog_mediafile f
    LEFT JOIN catalog_clip c ON c.id = f.clip_id
    LEFT JOIN catalog_volume v ON v.id = f.card_id
    WHERE f.id = file_id
$$;

CREATE FUNCTION catalog_copy_same_project() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    volume_project bigint;
    file_project bigint;
BEGIN
    SELECT project_id INTO volume_project FROM catalog_volume WHERE id = NEW.volume_id;
    file_project := catalog_mediafile_project(NEW.media_file_id);
    IF file_project IS NOT NULL AND volume_project IS DISTINCT FROM file_project THEN
        RAISE EXCEPTION 'copy_same_project: file % belongs to project %, volume % to project %',
            NEW.media_file_id, file_project, NEW.volume_id, volume_project
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER catalog_copy_same_project
BEFORE INSERT OR UPDATE OF volume_id, media_file_id ON catalog_copy
FOR EACH ROW EXECUTE FUNCTION catalog_copy_same_project();

CREATE FUNCTION catalog_mediafile_same_project() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    clip_project bigint;
    card_project bigint;
BEGIN
    SELECT project_id INTO clip_project FROM catalog_clip WHERE id = NEW.clip_id;
    SELECT project_id INTO card_project FROM catalog_volume WHERE id = NEW.card_id;
    IF clip_project IS NOT NULL AND card_project IS NOT NULL AND clip_project <> card_project THEN
        RAISE EXCEPTION 'copy_same_project: file % has a clip of project % and a card of project %',
            NEW.id, clip_project, card_project
            USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'UPDATE' AND EXISTS (
        SELECT 1 FROM catalog_copy cp JOIN catalog_volume v ON v.id = cp.volume_id
        WHERE cp.media_file_id = NEW.id AND v.project_id <> COALESCE(clip_project, card_project)
    ) THEN
        RAISE EXCEPTION 'copy_same_project: file % would leave its copies in another project', NEW.id
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER catalog_mediafile_same_project
BEFORE INSERT OR UPDATE OF clip_id, card_id ON catalog_mediafile
FOR EACH ROW EXECUTE FUNCTION catalog_mediafile_same_project();

CREATE FUNCTION catalog_volume_same_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.project_id <> OLD.project_id AND (
        EXISTS (SELECT 1 FROM catalog_copy WHERE volume_id = NEW.id)
        OR EXISTS (SELECT 1 FROM catalog_mediafile WHERE card_id = NEW.id)
        OR EXISTS (SELECT 1 FROM catalog_clip WHERE card_id = NEW.id)
    ) THEN
        RAISE EXCEPTION 'copy_same_project: volume % holds copies or files of project %', NEW.id, OLD.project_id
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER catalog_volume_same_project
BEFORE UPDATE OF project_id ON catalog_volume
FOR EACH ROW EXECUTE FUNCTION catalog_volume_same_project();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS catalog_volume_same_project ON catalog_volume;
DROP FUNCTION IF EXISTS catalog_volume_same_project();
DROP TRIGGER IF EXISTS catalog_mediafile_same_project ON catalog_mediafile;
DROP FUNCTION IF EXISTS catalog_mediafile_same_project();
DROP TRIGGER IF EXISTS catalog_copy_same_project ON catalog_copy;
DROP FUNCTION IF EXISTS catalog_copy_same_project();
DROP FUNCTION IF EXISTS catalog_mediafile_project(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_crew_roles")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
