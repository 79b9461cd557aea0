-- 0002: tamper evidence. Each event's `link` is SHA-256(previous event's link || body), in
-- arrival order, starting from 32 zero bytes; `verify` recomputes the chain and names the
-- first event where it breaks. Links of events stored before this migration are filled in by
-- the store right after it (SQL cannot hash).
ALTER TABLE events ADD COLUMN link BLOB;
