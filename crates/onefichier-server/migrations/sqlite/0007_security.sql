-- When a session's owner last proved who they are (password, second factor): sensitive account
-- actions ask again once it is older than a few minutes. Sessions opened before this column
-- existed count as proved at their log-in.
ALTER TABLE web_sessions ADD COLUMN proved_at INTEGER NOT NULL DEFAULT 0;
UPDATE web_sessions SET proved_at = created_at;

-- Anonymous uploads sent to an account (`user=E-MAIL`) land in its Incoming folder within this
-- many bytes; 0 takes none. The owner sets it on the account page.
ALTER TABLE accounts ADD COLUMN inbox_allowance INTEGER NOT NULL DEFAULT 1000000000;
