"""The search index (core/search.py, decision 0006).

Besides the table, each database gets its own index over `tokens`, which
Django's model state does not describe:

- SQLite: a contentless FTS5 table whose rowid packs the rank
  (round(boost * 100) in the high bits, the document id in the low 36), kept
  in step by three triggers. A contentless table forgets what it indexed, so a
  delete must hand back exactly the grams that were inserted: the triggers
  take them from the row itself (OLD.tokens), whatever wrote to the table.
  Django rebuilds an SQLite table to alter it, which drops its triggers: a
  later migration that alters core_searchdocument on SQLite must run
  SQLITE_TRIGGERS again and refill the FTS table (see SQLITE_REFILL).
- PostgreSQL: a GIN index on the tsvector column, updated in place on every
  write (fastupdate off), so that queries never scan a pending list; a
  covering index for walks in rank order (INCLUDE, which SQLite lacks and
  does not need); and
  core_search_estimate(), which search() asks how many documents may match.
"""

from django.db import migrations, models

import core.models

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE core_searchdocument_fts USING fts5("
    "tokens, content='', tokenize='ascii', detail='none')"
)
# The rank rowid: higher boost first, then the newer document.
_NEW_ROWID = "((CAST(round(NEW.boost * 100) AS INTEGER) << 36) | NEW.id)"
_OLD_ROWID = "((CAST(round(OLD.boost * 100) AS INTEGER) << 36) | OLD.id)"
SQLITE_TRIGGERS = (
    "CREATE TRIGGER core_searchdocument_fts_insert AFTER INSERT ON core_searchdocument BEGIN "
    f"INSERT INTO core_searchdocument_fts(rowid, tokens) VALUES ({_NEW_ROWID}, NEW.tokens); END",
    "CREATE TRIGGER core_searchdocument_fts_delete AFTER DELETE ON core_searchdocument BEGIN "
    "INSERT INTO core_searchdocument_fts(core_searchdocument_fts, rowid, tokens) "
    f"VALUES ('delete', {_OLD_ROWID}, OLD.tokens); END",
    "CREATE TRIGGER core_searchdocument_fts_update AFTER UPDATE ON core_searchdocument BEGIN "
    "INSERT INTO core_searchdocument_fts(core_searchdocument_fts, rowid, tokens) "
    f"VALUES ('delete', {_OLD_ROWID}, OLD.tokens); "
    f"INSERT INTO core_searchdocument_fts(rowid, tokens) VALUES ({_NEW_ROWID}, NEW.tokens); END",
)
SQLITE_REFILL = (
    "INSERT INTO core_searchdocument_fts(core_searchdocument_fts) VALUES ('delete-all')",
    "INSERT INTO core_searchdocument_fts(rowid, tokens) SELECT "
    + _NEW_ROWID.replace("NEW.", "")
    + ", tokens FROM core_searchdocument",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_insert",
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_delete",
    "DROP TRIGGER IF EXISTS core_searchdocument_fts_update",
    "DROP TABLE IF EXISTS core_searchdocument_fts",
)
POSTGRES_INDEX = (
    "CREATE INDEX core_searchdoc_tokens_gin ON core_searchdocument "
    "USING gin (tokens) WITH (fastupdate = off)",
    # Walks of one kind in rank order; the title walk reads only this index.
    "CREATE INDEX core_searchdoc_rank ON core_searchdocument "
    "(kind, boost DESC, id DESC) INCLUDE (object_id, title)",
    # How many documents may match a query, from the planner's own gram
    # statistics (pg_stats.most_common_elems of `tokens`): the table's rows
    # times the frequency of the query's rarest gram; a gram not in the list
    # counts as PostgreSQL's own estimator counts it, min(least listed / 2,
    # 0.5 %). core.search chooses between the GIN index and walks of the rank
    # index with it. In PL/pgSQL so that its query over pg_stats is planned
    # once per connection, not once per search; PARALLEL UNSAFE so that no
    # search is ever planned with parallel workers, whose start-up would cost
    # more than the search (and would start even for a part that a one-time
    # filter leaves unused).
    """
CREATE FUNCTION core_search_estimate(grams text[]) RETURNS double precision
LANGUAGE plpgsql STABLE PARALLEL UNSAFE AS $$
DECLARE
    elems text[];
    freqs real[];
    tuples double precision;
    unlisted double precision;
    rarest double precision;
BEGIN
    SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs INTO elems, freqs
    FROM pg_stats s
    WHERE s.schemaname = current_schema() AND s.tablename = 'core_searchdocument'
        AND s.attname = 'tokens'
    LIMIT 1;
    IF elems IS NULL OR cardinality(elems) = 0 THEN
        RETURN 0;
    END IF;
    SELECT greatest(c.reltuples, 0) INTO tuples
    FROM pg_class c WHERE c.oid = 'core_searchdocument'::regclass;
    -- After the per-element frequencies come the least and the greatest.
    unlisted := least(freqs[cardinality(elems) + 1] / 2, 0.005);
    SELECT min(coalesce(freqs[array_position(elems, g)], unlisted)) INTO rarest
    FROM unnest(grams) AS g;
    RETURN coalesce(tuples * rarest, 0);
END
$$""",
)
POSTGRES_DROP = (
    "DROP FUNCTION IF EXISTS core_search_estimate(text[])",
    "DROP INDEX IF EXISTS core_searchdoc_rank",
    "DROP INDEX IF EXISTS core_searchdoc_tokens_gin",
)


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, (SQLITE_FTS, *SQLITE_TRIGGERS))
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_INDEX)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_outbox_reply_to_and_secret"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=50, verbose_name="種類")),
                ("object_id", models.BigIntegerField(verbose_name="対象ID")),
                ("boost", models.FloatField(default=1.0, verbose_name="重み")),
                ("title", models.TextField(verbose_name="件名（正規化）")),
                ("body", models.TextField(blank=True, verbose_name="本文（正規化）")),
                (
                    "tokens",
                    core.models.SearchTokensField(
                        blank=True, editable=False, verbose_name="検索用の語片"
                    ),
                ),
            ],
            options={
                "verbose_name": "検索用文書",
                "verbose_name_plural": "検索用文書",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "object_id"), name="core_searchdoc_unique_object"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("boost__gte", 0), ("boost__lte", 1000)),
                        name="core_searchdoc_boost_range",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
