-- The guest provider's tables (prefix `guest_idp_`), every secret stored only as its SHA-256
-- hash. `IF NOT EXISTS`: databases made before migrations already have them.
CREATE TABLE IF NOT EXISTS guest_idp_guests (
        id TEXT PRIMARY KEY,
        given_name TEXT NOT NULL,
        family_name TEXT NOT NULL,
        email TEXT NOT NULL,
        attributes TEXT NOT NULL,
        disabled BIGINT NOT NULL DEFAULT 0,
        created_unix BIGINT NOT NULL,
        last_sign_in_unix BIGINT
    );
CREATE TABLE IF NOT EXISTS guest_idp_invitations (
        token_hash TEXT PRIMARY KEY,
        guest_id TEXT NOT NULL,
        expires_ms BIGINT NOT NULL,
        used_ms BIGINT
    );
CREATE INDEX IF NOT EXISTS guest_idp_invitations_guest ON guest_idp_invitations (guest_id);
CREATE TABLE IF NOT EXISTS guest_idp_sessions (
        id_hash TEXT PRIMARY KEY,
        guest_id TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
CREATE INDEX IF NOT EXISTS guest_idp_sessions_guest ON guest_idp_sessions (guest_id);
CREATE TABLE IF NOT EXISTS guest_idp_codes (
        code_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        nonce TEXT,
        scope TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        used BIGINT NOT NULL DEFAULT 0
    );
CREATE INDEX IF NOT EXISTS guest_idp_codes_guest ON guest_idp_codes (guest_id);
CREATE TABLE IF NOT EXISTS guest_idp_access_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
CREATE INDEX IF NOT EXISTS guest_idp_access_family ON guest_idp_access_tokens (family_id);
CREATE INDEX IF NOT EXISTS guest_idp_access_guest ON guest_idp_access_tokens (guest_id);
CREATE TABLE IF NOT EXISTS guest_idp_refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        spent BIGINT NOT NULL DEFAULT 0
    );
CREATE INDEX IF NOT EXISTS guest_idp_refresh_family ON guest_idp_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS guest_idp_refresh_guest ON guest_idp_refresh_tokens (guest_id);
CREATE TABLE IF NOT EXISTS guest_idp_audit (
        id BIGSERIAL PRIMARY KEY,
        at_unix BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        guest_id TEXT,
        detail TEXT
    );
CREATE INDEX IF NOT EXISTS guest_idp_audit_guest ON guest_idp_audit (guest_id, id);
