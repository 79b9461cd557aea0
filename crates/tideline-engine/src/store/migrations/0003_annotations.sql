-- 0003: the analyst's annotations. They are not evidence: they live outside the events table
-- and outside the integrity chain.
CREATE TABLE event_stars (
    seq        INTEGER PRIMARY KEY REFERENCES events (seq),
    starred_us INTEGER NOT NULL
);

CREATE TABLE event_tags (
    seq INTEGER NOT NULL REFERENCES events (seq),
    tag TEXT    NOT NULL,
    PRIMARY KEY (seq, tag)
) WITHOUT ROWID;
CREATE INDEX event_tags_by_tag ON event_tags (tag, seq);

CREATE TABLE event_comments (
    id         INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL REFERENCES events (seq),
    body       TEXT    NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE INDEX event_comments_by_seq ON event_comments (seq);
