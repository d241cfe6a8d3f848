-- Uploads (ids handed out by get_upload_server, and end.pl reports), download tokens,
-- remote-upload jobs, antivirus scan results.

CREATE TABLE upload_sessions (
    id            TEXT PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    -- Set when upload.cgi consumed the id; an id is single use.
    used_at       INTEGER,
    -- The end.pl report (JSON), kept until report_expires_at.
    report        TEXT,
    report_expires_at INTEGER
);

CREATE TABLE download_tokens (
    token         TEXT PRIMARY KEY,
    file_id       INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    -- A token must be used within 5 minutes; once used, it serves resumes for 30 minutes.
    first_used_at INTEGER,
    inline        INTEGER NOT NULL DEFAULT 0,
    single        INTEGER NOT NULL DEFAULT 0,
    restrict_ip   INTEGER NOT NULL DEFAULT 0,
    -- The address the token is bound to (restrict_ip), set at first use.
    bound_ip      TEXT
);

CREATE TABLE remote_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id       INTEGER NOT NULL DEFAULT 0,
    urls            TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    request_date    INTEGER NOT NULL,
    execution_date  INTEGER,
    -- JSON array of per-URL results, filled as the job runs.
    result          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX remote_jobs_account ON remote_jobs(account_id, id);

ALTER TABLE files ADD COLUMN scanned_at INTEGER;
