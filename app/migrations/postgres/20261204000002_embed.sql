-- The Client App mode's pending frames and one-time handoff codes, for every replica: the
-- popup's callback and the frame's exchange may land on any. Secrets only as SHA-256; the
-- sign-in a code hands over is sealed like the tokens.
CREATE TABLE IF NOT EXISTS embed_frames (
    frame_id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    context TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS embed_frames_by_age ON embed_frames (created_ms);
CREATE TABLE IF NOT EXISTS embed_handoffs (
    code_hash TEXT PRIMARY KEY NOT NULL,
    frame_id TEXT NOT NULL,
    user_data TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
