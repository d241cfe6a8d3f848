-- When a session's owner last proved who they are (password, second factor): sensitive account
-- actions ask again once it is older than a few minutes. Sessions opened before this column
-- existed count as proved at their log-in.
ALTER TABLE web_sessions ADD COLUMN proved_at INTEGER NOT NULL DEFAULT 0;
UPDATE web_sessions SET proved_at = created_at;
