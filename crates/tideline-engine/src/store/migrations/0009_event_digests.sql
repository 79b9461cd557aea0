-- 0009: each event's digest, so that a CSV export reads no body (issue 10: the CSV export of
-- 1,000,000 events took 7.7 s, most of it parsing and diffing the bodies' configurations).
--
-- A digest holds the cells of an event's CSV row that come from its verbatim body: the
-- one-line change summary, the user agent and the provider's id of the asset (src/digest.rs
-- makes them). Derived data, like the search indexes: the recorder's writer digests events
-- when its queue is empty and before it closes, an import with each batch, oldest first;
-- `digest_state.digested_to` says how far, and `version` with which reading. Digests of
-- another version are never read: the next digesting (writer or import) starts again from the
-- first event, writing over them as it goes.
-- An export reads the body of every event past the mark (store/timeline.rs,
-- `for_each_event_digested`), so its output does not depend on how far digesting has come.
-- Nothing is filled here: an existing session is digested by its next recording or import.

CREATE TABLE event_digests (
    seq         INTEGER PRIMARY KEY,      -- events.seq
    summary     TEXT    NOT NULL,         -- what changed, on one line
    user_agent  TEXT,                     -- data.attribution.user_agent
    provider_id TEXT                      -- data.asset.provider_id
);

CREATE TABLE digest_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,         -- digest::DIGEST_VERSION of the rows
    digested_to INTEGER NOT NULL          -- every event up to this seq has its row
);
INSERT INTO digest_state (id, version, digested_to) VALUES (1, 0, 0);
