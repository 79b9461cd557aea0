-- 0008: the asset index by day, so that recording stays fast as a session grows (issue 10;
-- measured in BENCHMARKS.md §3, "Record rate over a growing session").
--
-- `event_facets_by_asset` was keyed (asset, time_us, seq): every write transaction extended the
-- end of each asset's range, one 16 KiB leaf page per asset it touched, and each dirty page is
-- written twice (WAL, then checkpoint). With thousands of assets that was most of the bytes a
-- batch wrote, and it grew with the session (11.4 KB written per event at 1M, 19.7 KB at 5M).
-- Keyed (day, asset, time_us, seq) instead, a batch's events of one day share the few leaves
-- of that day's part of the index.
--
-- `day` is the event's UTC day, `time_us / 86400000000` (truncated towards zero, as SQLite
-- divides integers: monotonic in time, so rows in (day, time) order are in time order). It is
-- a virtual column: computed, never stored. An index on the expression itself would not do:
-- SQLite uses one only against a constant, and history reads join it to `asset_days`.
--
-- `asset_days` lists the days on which each asset has events: an asset's rows are read day by
-- day, newest first, each day one range of the index in time order (store/filter.rs,
-- events.rs), without a sort. It gains a row only when an asset is first seen on a day. The
-- writer (store/writes.rs) keeps both in the batch's transaction.

ALTER TABLE event_facets ADD COLUMN day INTEGER AS (time_us / 86400000000) VIRTUAL;

CREATE TABLE asset_days (
    asset INTEGER NOT NULL,               -- facet_values id of facet 'asset'
    day   INTEGER NOT NULL,               -- event_facets.day
    PRIMARY KEY (asset, day)
) WITHOUT ROWID;
INSERT INTO asset_days (asset, day)
    SELECT DISTINCT asset, day FROM event_facets WHERE asset IS NOT NULL;

DROP INDEX event_facets_by_asset;
CREATE INDEX event_facets_by_asset_day ON event_facets (day, asset);
