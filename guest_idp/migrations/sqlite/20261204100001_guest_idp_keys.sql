-- The signing keys, shared by every instance on this database (they moved here from the data
-- directory's guest-idp-keys/, which is imported once). `private_key`: a PKCS#1 PEM, sealed by
-- the host's key vault when it has one. A key signs from `active_from_ms` until the next key's.
CREATE TABLE IF NOT EXISTS guest_idp_keys (
        kid TEXT PRIMARY KEY,
        private_key TEXT NOT NULL,
        created_unix INTEGER NOT NULL,
        active_from_ms INTEGER NOT NULL
    );
-- Which instance (the portal's replica) wrote each audit entry.
ALTER TABLE guest_idp_audit ADD COLUMN replica TEXT;
