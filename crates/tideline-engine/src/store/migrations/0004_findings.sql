-- 0004: what the detection rules found. Derived data: rebuilt from the events at any time,
-- outside the integrity chain. `events` lists [source, event_id] pairs; finding_events maps a
-- finding to the events behind it for filtering the change list.
CREATE TABLE findings (
    key        TEXT    PRIMARY KEY,
    rule       TEXT    NOT NULL,
    severity   TEXT    NOT NULL,
    asset      TEXT,
    asset_label TEXT,
    principal  TEXT,
    principal_short TEXT,
    summary    TEXT    NOT NULL,
    time_us    INTEGER NOT NULL,
    events     TEXT    NOT NULL
);
CREATE INDEX findings_by_time ON findings (time_us);

CREATE TABLE finding_events (
    key TEXT    NOT NULL REFERENCES findings (key) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE INDEX finding_events_by_seq ON finding_events (seq);
