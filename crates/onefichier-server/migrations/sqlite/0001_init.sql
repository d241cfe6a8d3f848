-- Accounts, API keys, folders, files, blobs, vouchers, FTP users.
-- Times are Unix seconds (UTC); the API renders them in Europe/Paris time.

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    offer               TEXT NOT NULL CHECK (offer IN ('free', 'premium', 'access', 'gold')),
    created_at          INTEGER NOT NULL,
    subscription_end    INTEGER,
    hot_quota           INTEGER NOT NULL,
    cold_quota          INTEGER NOT NULL,
    cdn_credits_bytes   INTEGER NOT NULL DEFAULT 0,
    upload_forbidden    INTEGER NOT NULL DEFAULT 0,
    two_factor          INTEGER NOT NULL DEFAULT 0,
    mail_rm             INTEGER NOT NULL DEFAULT 0,
    ftp_mode            INTEGER NOT NULL DEFAULT 0,
    ftp_did             INTEGER NOT NULL DEFAULT 0,
    ftp_report          INTEGER NOT NULL DEFAULT 0,
    ru_report           INTEGER NOT NULL DEFAULT 0,
    default_domain      INTEGER NOT NULL DEFAULT 0,
    page_limit          INTEGER NOT NULL DEFAULT 50,
    default_port        INTEGER NOT NULL DEFAULT 0,
    default_port_files  INTEGER NOT NULL DEFAULT 0,
    use_cdn             INTEGER NOT NULL DEFAULT 0,
    download_menu       INTEGER NOT NULL DEFAULT 0,
    ftp_process_requested_at INTEGER
);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    -- SHA-256 of the key; the key itself is never stored.
    digest        BLOB NOT NULL UNIQUE,
    -- The first characters of the key, so that its owner can tell keys apart.
    prefix        TEXT NOT NULL,
    -- JSON array of CIDRs; empty = any address.
    allow_ips     TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    rotated_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
-- A label names one live key per account; revoked keys keep their row for the record.
CREATE UNIQUE INDEX api_keys_live_label ON api_keys(account_id, label) WHERE revoked_at IS NULL;

CREATE TABLE folders (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- 0 is the account's root, which has no row.
    parent_id          INTEGER NOT NULL,
    name               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    -- Public share: the id in /dir/ID, and an optional password digest (argon2 PHC string).
    share_id           TEXT UNIQUE,
    share_pass_hash    TEXT
);
CREATE INDEX folders_parent ON folders(account_id, parent_id);
CREATE UNIQUE INDEX folders_sibling_name ON folders(account_id, parent_id, name);

CREATE TABLE folder_shares (
    folder_id   INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    email       TEXT NOT NULL COLLATE NOCASE,
    rw          INTEGER NOT NULL DEFAULT 0,
    hide_links  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (folder_id, email)
);

-- File bytes, shared by copies. Written by the blob store before any file row points at it.
CREATE TABLE blobs (
    id          TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    whirlpool   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id       TEXT NOT NULL UNIQUE,
    -- NULL for anonymous uploads, which are removed with remove_code.
    account_id    INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id     INTEGER NOT NULL DEFAULT 0,
    name          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    whirlpool     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    pass_hash     TEXT,
    no_ssl        INTEGER NOT NULL DEFAULT 0,
    inline        INTEGER NOT NULL DEFAULT 0,
    cdn           INTEGER NOT NULL DEFAULT 0,
    acl_ip        TEXT NOT NULL DEFAULT '[]',
    acl_country   TEXT NOT NULL DEFAULT '[]',
    acl_email     TEXT NOT NULL DEFAULT '[]',
    acl_premium   INTEGER NOT NULL DEFAULT 0,
    domain        INTEGER NOT NULL DEFAULT 0,
    remove_code   TEXT,
    blob_id       TEXT REFERENCES blobs(id)
);
CREATE INDEX files_folder ON files(account_id, folder_id, created_at);
CREATE INDEX files_blob ON files(blob_id);

CREATE TABLE vouchers (
    code         TEXT PRIMARY KEY,
    service      TEXT NOT NULL,
    -- The reseller who holds it.
    owner_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    used_by      INTEGER REFERENCES accounts(id),
    used_at      INTEGER
);

CREATE TABLE ftp_users (
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user         TEXT NOT NULL,
    pass_hash    TEXT NOT NULL,
    folder_id    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, user)
);
