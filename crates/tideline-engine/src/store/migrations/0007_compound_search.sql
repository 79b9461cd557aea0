-- 0007: indicators kept whole for search (store/search_terms.rs), and searches with few
-- matches read from their matches.
--
-- `event_compounds` is a contentless FTS5 index of each body's addresses, CIDRs, ARNs and
-- paths as whole terms, with their suffixes after each separator (`10.17.42.0/24`,
-- `assumed-role/breakglass/x`, …), so a search for one is a single term lookup instead of a
-- phrase of common numbers and words in the word index (`event_search`). It covers the same
-- events as `event_search` (`search_state.indexed_to`); `open.rs`'s `backfill_compounds` fills
-- it for the events already indexed, in the same transaction, with progress. Its options must
-- stay those of search.rs's in-memory tail (a test holds them equal).

CREATE VIRTUAL TABLE event_compounds USING fts5 (
    terms,
    content = '',
    columnsize = 0,
    detail = none,
    tokenize = "unicode61 remove_diacritics 2 tokenchars '.:/-_@'"
);

-- A search with few matches (an address, an ARN: tens of events among millions) reads its
-- rows by seq and sorts them, instead of walking every row in time order (filter.rs chooses
-- by the number of matches). Seqs only grow, so the index is appended to, never split.
CREATE INDEX event_facets_by_seq ON event_facets (seq);
