-- The website: passwords, second factor, sessions, invitations; scoped keys and their audit.

-- Argon2id PHC string; NULL = no web login (accounts made by the admin CLI until a password is set).
ALTER TABLE accounts ADD COLUMN password_hash TEXT;
-- Base32 TOTP secret: set while enrolling, kept while enabled.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
-- The last 30-second step whose code was accepted: a code works once.
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- SHA-256 of the code (random, high entropy: no slow hash needed).
    digest      BLOB NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (account_id, digest)
);

CREATE TABLE web_sessions (
    -- SHA-256 of the cookie's value; the value itself is never stored.
    digest        BLOB PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- The token every form of this session carries.
    csrf          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    seen_at       INTEGER NOT NULL,
    ip            TEXT NOT NULL,
    -- The password was right; the second factor is still owed.
    pending_totp  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX web_sessions_account ON web_sessions(account_id);

CREATE TABLE invitations (
    digest      BLOB PRIMARY KEY,
    offer       TEXT NOT NULL CHECK (offer IN ('free', 'premium', 'access', 'gold')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_by     INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    used_at     INTEGER
);

-- full: everything; read: list, info, download; upload: upload and mkdir only.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'read', 'upload'));
-- The folder whose subtree the key is confined to; NULL = the whole account.
ALTER TABLE api_keys ADD COLUMN folder_id INTEGER;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT;

-- Every address a key was used from, to tell its owner of a new one.
CREATE TABLE key_addresses (
    key_id      INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    PRIMARY KEY (key_id, ip)
);

CREATE TABLE key_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id      INTEGER,
    label       TEXT NOT NULL,
    -- created, rotated, revoked, renamed, allow_list, new_address
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    ip          TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX key_events_account ON key_events(account_id, id);
