-- The portal's own tables on SQLite (the sessions' table is tower-sessions-sqlx-store's).
-- `IF NOT EXISTS`: databases made before migrations already have the first two.
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY NOT NULL,
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    expires_at INTEGER NOT NULL,
    delete_after INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS guest_chats (
    id TEXT PRIMARY KEY NOT NULL,
    guest_id TEXT NOT NULL,
    jwt TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    session_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS guest_chats_by_guest ON guest_chats (guest_id);
-- One row per sign-in state a callback has claimed: the second callback of one sign-in finds
-- its row and redeems nothing.
CREATE TABLE IF NOT EXISTS login_claims (
    state_hash TEXT PRIMARY KEY NOT NULL,
    claimed_at INTEGER NOT NULL
);
-- Requests every replica acts on (e.g. "rotate the service token"): a generation per name,
-- which each replica polls and acts on when it moves.
CREATE TABLE IF NOT EXISTS replica_signals (
    name TEXT PRIMARY KEY NOT NULL,
    generation INTEGER NOT NULL,
    at_unix INTEGER NOT NULL,
    by_replica TEXT NOT NULL
);
