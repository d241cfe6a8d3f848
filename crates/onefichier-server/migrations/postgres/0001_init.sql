-- The SQLite schema (migrations/sqlite, 0001 to 0005) as one PostgreSQL migration: the same
-- tables, columns and constraints, with PostgreSQL's types. Flags are BOOLEAN, integers BIGINT
-- (Rust's i64), digests BYTEA. Times are Unix seconds (UTC).

-- Names, labels and codes sort byte by byte (COLLATE "C"), as SQLite's default does, whatever
-- the database's locale. E-mail addresses compare without regard to case, as SQLite's NOCASE does.
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE accounts (
    id                  BIGSERIAL PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE COLLATE nocase,
    offer               TEXT NOT NULL CHECK (offer IN ('free', 'premium', 'access', 'gold')),
    created_at          BIGINT NOT NULL,
    subscription_end    BIGINT,
    hot_quota           BIGINT NOT NULL,
    cold_quota          BIGINT NOT NULL,
    cdn_credits_bytes   BIGINT NOT NULL DEFAULT 0,
    upload_forbidden    BOOLEAN NOT NULL DEFAULT FALSE,
    two_factor          BIGINT NOT NULL DEFAULT 0,
    mail_rm             BOOLEAN NOT NULL DEFAULT FALSE,
    ftp_mode            BOOLEAN NOT NULL DEFAULT FALSE,
    ftp_did             BIGINT NOT NULL DEFAULT 0,
    ftp_report          BOOLEAN NOT NULL DEFAULT FALSE,
    ru_report           BOOLEAN NOT NULL DEFAULT FALSE,
    default_domain      BIGINT NOT NULL DEFAULT 0,
    page_limit          BIGINT NOT NULL DEFAULT 50,
    default_port        BOOLEAN NOT NULL DEFAULT FALSE,
    default_port_files  BOOLEAN NOT NULL DEFAULT FALSE,
    use_cdn             BOOLEAN NOT NULL DEFAULT FALSE,
    download_menu       BOOLEAN NOT NULL DEFAULT FALSE,
    ftp_process_requested_at BIGINT,
    -- Argon2id PHC string; NULL = no web login.
    password_hash       TEXT,
    -- Base32 TOTP secret: set while enrolling, kept while enabled.
    totp_secret         TEXT,
    totp_enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    -- The last 30-second step whose code was accepted: a code works once.
    totp_last_step      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    label         TEXT NOT NULL COLLATE "C",
    -- SHA-256 of the key; the key itself is never stored.
    digest        BYTEA NOT NULL UNIQUE,
    -- The first characters of the key, so that its owner can tell keys apart.
    prefix        TEXT NOT NULL,
    -- JSON array of CIDRs; empty = any address.
    allow_ips     TEXT NOT NULL DEFAULT '[]',
    created_at    BIGINT NOT NULL,
    rotated_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    -- full: everything; read: list, info, download; upload: upload and mkdir only.
    scope         TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'read', 'upload')),
    -- The folder whose subtree the key is confined to; NULL = the whole account.
    folder_id     BIGINT,
    expires_at    BIGINT,
    last_used_ip  TEXT
);
-- A label names one live key per account; revoked keys keep their row for the record.
CREATE UNIQUE INDEX api_keys_live_label ON api_keys(account_id, label) WHERE revoked_at IS NULL;

CREATE TABLE folders (
    id                 BIGSERIAL PRIMARY KEY,
    account_id         BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- 0 is the account's root, which has no row.
    parent_id          BIGINT NOT NULL,
    name               TEXT NOT NULL COLLATE "C",
    created_at         BIGINT NOT NULL,
    share_id           TEXT UNIQUE,
    share_pass_hash    TEXT
);
CREATE INDEX folders_parent ON folders(account_id, parent_id);
CREATE UNIQUE INDEX folders_sibling_name ON folders(account_id, parent_id, name);

CREATE TABLE folder_shares (
    folder_id   BIGINT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    email       TEXT NOT NULL COLLATE nocase,
    rw          BOOLEAN NOT NULL DEFAULT FALSE,
    hide_links  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (folder_id, email)
);

-- File bytes, shared by copies. Written by the blob store before any file row points at it.
CREATE TABLE blobs (
    id          TEXT COLLATE "C" PRIMARY KEY,
    size        BIGINT NOT NULL,
    whirlpool   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE files (
    id            BIGSERIAL PRIMARY KEY,
    link_id       TEXT NOT NULL UNIQUE,
    -- NULL for anonymous uploads, which are removed with remove_code.
    account_id    BIGINT REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id     BIGINT NOT NULL DEFAULT 0,
    name          TEXT NOT NULL COLLATE "C",
    size          BIGINT NOT NULL,
    whirlpool     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    pass_hash     TEXT,
    no_ssl        BOOLEAN NOT NULL DEFAULT FALSE,
    inline        BOOLEAN NOT NULL DEFAULT FALSE,
    cdn           BOOLEAN NOT NULL DEFAULT FALSE,
    acl_ip        TEXT NOT NULL DEFAULT '[]',
    acl_country   TEXT NOT NULL DEFAULT '[]',
    acl_email     TEXT NOT NULL DEFAULT '[]',
    acl_premium   BOOLEAN NOT NULL DEFAULT FALSE,
    domain        BIGINT NOT NULL DEFAULT 0,
    remove_code   TEXT,
    blob_id       TEXT REFERENCES blobs(id),
    scanned_at    BIGINT
);
CREATE INDEX files_folder ON files(account_id, folder_id, created_at);
CREATE INDEX files_blob ON files(blob_id);

CREATE TABLE vouchers (
    code         TEXT COLLATE "C" PRIMARY KEY,
    service      TEXT NOT NULL,
    -- The reseller who holds it.
    owner_id     BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    used_by      BIGINT REFERENCES accounts(id),
    used_at      BIGINT
);

CREATE TABLE ftp_users (
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    "user"       TEXT NOT NULL COLLATE "C",
    pass_hash    TEXT NOT NULL,
    folder_id    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, "user")
);

CREATE TABLE upload_sessions (
    id            TEXT PRIMARY KEY,
    created_at    BIGINT NOT NULL,
    -- Set when upload.cgi consumed the id; an id is single use.
    used_at       BIGINT,
    -- The end.pl report (JSON), kept until report_expires_at.
    report        TEXT,
    report_expires_at BIGINT
);

CREATE TABLE download_tokens (
    token         TEXT PRIMARY KEY,
    file_id       BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    first_used_at BIGINT,
    inline        BOOLEAN NOT NULL DEFAULT FALSE,
    single        BOOLEAN NOT NULL DEFAULT FALSE,
    restrict_ip   BIGINT NOT NULL DEFAULT 0,
    bound_ip      TEXT,
    -- The key that asked for it (its id and digest then): revoking or rotating it ends its tokens.
    key_id        BIGINT,
    key_digest    BYTEA
);

CREATE TABLE remote_jobs (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id       BIGINT NOT NULL DEFAULT 0,
    urls            TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    request_date    BIGINT NOT NULL,
    execution_date  BIGINT,
    result          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX remote_jobs_account ON remote_jobs(account_id, id);

-- A counter per account, raised in the same transaction as any change to what `file/ls` shows.
CREATE TABLE listing_generations (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    generation  BIGINT NOT NULL
);

CREATE FUNCTION bump_listing_generation(account BIGINT) RETURNS VOID LANGUAGE SQL AS $$
    INSERT INTO listing_generations (account_id, generation) VALUES (account, 1)
    ON CONFLICT (account_id) DO UPDATE SET generation = listing_generations.generation + 1;
$$;

CREATE FUNCTION files_listed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.account_id IS NOT NULL THEN
        PERFORM bump_listing_generation(OLD.account_id);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.account_id IS NOT NULL
       OR TG_OP = 'UPDATE' AND NEW.account_id IS DISTINCT FROM OLD.account_id
          AND NEW.account_id IS NOT NULL THEN
        PERFORM bump_listing_generation(NEW.account_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER files_listed_insert_delete AFTER INSERT OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION files_listed();
CREATE TRIGGER files_listed_update AFTER UPDATE OF
    account_id, folder_id, link_id, domain, name, size, whirlpool, content_type, created_at,
    pass_hash, acl_ip, acl_country, acl_email, acl_premium, cdn ON files
    FOR EACH ROW EXECUTE FUNCTION files_listed();

CREATE TABLE recovery_codes (
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- SHA-256 of the code (random, high entropy: no slow hash needed).
    digest      BYTEA NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (account_id, digest)
);

CREATE TABLE web_sessions (
    -- SHA-256 of the cookie's value; the value itself is never stored.
    digest        BYTEA PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL,
    ip            TEXT NOT NULL,
    -- The password was right; the second factor is still owed.
    pending_totp  BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX web_sessions_account ON web_sessions(account_id);

CREATE TABLE invitations (
    digest      BYTEA PRIMARY KEY,
    offer       TEXT NOT NULL CHECK (offer IN ('free', 'premium', 'access', 'gold')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_by     BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    used_at     BIGINT
);

-- Every address a key was used from, to tell its owner of a new one.
CREATE TABLE key_addresses (
    key_id      BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    PRIMARY KEY (key_id, ip)
);

CREATE TABLE key_events (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id      BIGINT,
    label       TEXT NOT NULL,
    -- created, rotated, revoked, renamed, allow_list, new_address
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    ip          TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX key_events_account ON key_events(account_id, id);
