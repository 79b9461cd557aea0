-- 0001: the timeline. One session file holds one recording: events, quarantine, assets, stream position.

-- Every valid event, once per (source, event_id). `body` is the event's JSON exactly as it arrived;
-- the other columns are extracted from it for filtering and are never the source of truth.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,          -- arrival order
    source         TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    change         TEXT,                         -- 'create' | 'update' | 'delete'; NULL for other com.opshelm.* events
    time_us        INTEGER NOT NULL,             -- the event's own time, microseconds since the epoch, UTC
    asset_name     TEXT,
    asset_type     TEXT,
    asset_display  TEXT,
    asset_provider TEXT,
    asset_account  TEXT,
    asset_region   TEXT,
    principal      TEXT,
    principal_id   TEXT,
    assumed_role   TEXT,
    method         TEXT,
    source_ip      TEXT,
    action         TEXT,
    received_us    INTEGER NOT NULL,
    body           TEXT    NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX events_by_time ON events (time_us, seq);
CREATE INDEX events_by_asset ON events (asset_name, time_us);

-- Frames that could not be stored as events, with why. `raw` is capped; `raw_len` is the full size.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    received_us INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    sse_id      TEXT,
    raw         BLOB    NOT NULL,
    raw_len     INTEGER NOT NULL
);

-- Each asset's latest known state: the event with the greatest (time_us, seq) for that asset.
-- Its configuration is that event's `config`, or `previous_config` when it was a delete.
CREATE TABLE assets (
    name          TEXT    PRIMARY KEY,
    asset_type    TEXT,
    display_name  TEXT,
    provider      TEXT,
    account       TEXT,
    region        TEXT,
    state_seq     INTEGER NOT NULL REFERENCES events (seq),
    state_time_us INTEGER NOT NULL,
    last_change   TEXT    NOT NULL,
    deleted       INTEGER NOT NULL,
    event_count   INTEGER NOT NULL
);

-- One row: where the stream stands. Updated in the same transaction as the batch it follows.
CREATE TABLE stream_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id TEXT,
    duplicates    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO stream_state (id) VALUES (1);

-- Free-form facts about the session (created_at, created_by, ...).
CREATE TABLE session_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
