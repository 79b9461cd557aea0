-- 0006: the layout for long incidents (issue 10; measured in BENCHMARKS.md, "Scale").
--
-- * Verbatim bodies move to their own table, so the rows that are filtered, counted and paged
--   no longer carry ~2.6 KB each. The integrity chain is unchanged: a link still hashes the
--   previous link and the body's exact bytes.
-- * `event_facets` is the timeline's index: one narrow row per event, clustered by
--   (time_us, seq), with each facet as a small integer from `facet_values`. Filters, counts,
--   facets, histograms and keyset pages read it; the wide `events` row is read only for the
--   rows on screen. Secondary indexes lead with the columns a rare filter or a pivot names.
-- * `facet_values` is the dictionary of facet values, with how many asset changes carry each,
--   kept in the same transaction as the events: the unfiltered facet counts and totals are
--   read, not counted.
-- * `event_search` is a contentless FTS5 index over each body (every field an analyst sees,
--   the configurations that hold the changed values, and the provider's raw record). The
--   `unicode61` tokenizer splits on punctuation, so an IP, an ARN or a CIDR is searched as the
--   phrase of its parts.
-- No foreign keys: both tables are written only beside their `events` row, in its transaction,
-- and a foreign-key check would cost every insert a lookup.
-- The rows of existing events are filled in by the store right after this script (store/open.rs,
-- `backfill_layout`), in the same transaction.

CREATE TABLE event_bodies (
    seq  INTEGER PRIMARY KEY,             -- events.seq
    body TEXT    NOT NULL
);
INSERT INTO event_bodies (seq, body) SELECT seq, body FROM events;

DROP INDEX events_by_time;
DROP INDEX events_by_asset;
DROP INDEX events_changes_by_time;
ALTER TABLE events DROP COLUMN body;

CREATE TABLE facet_values (
    id      INTEGER PRIMARY KEY,
    facet   TEXT    NOT NULL,             -- 'change' | 'asset_type' | 'method' | 'principal' | 'region' | 'account' | 'asset'
    value   TEXT    NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0,   -- asset changes (change IS NOT NULL) carrying this value
    UNIQUE (facet, value)
);

CREATE TABLE event_facets (
    time_us    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,          -- events.seq
    change     INTEGER,                   -- facet_values ids; NULL when the event has no such value
    asset_type INTEGER,
    method     INTEGER,
    principal  INTEGER,
    region     INTEGER,
    account    INTEGER,
    asset      INTEGER,
    PRIMARY KEY (time_us, seq)
) WITHOUT ROWID;
CREATE INDEX event_facets_by_principal ON event_facets (principal);
CREATE INDEX event_facets_by_asset_type ON event_facets (asset_type);
CREATE INDEX event_facets_by_asset ON event_facets (asset);

CREATE VIRTUAL TABLE event_search USING fts5 (
    body,
    content = '',
    columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- How far `event_search` covers the events: every seq up to `indexed_to` is in it. The writer
-- indexes newer events when it is idle and before it closes (store/search.rs), so indexing
-- never slows a recording; a search also reads the few events past it.
CREATE TABLE search_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_to INTEGER NOT NULL
);
INSERT INTO search_state (id, indexed_to) VALUES (1, 0);
