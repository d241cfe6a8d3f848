-- A counter per account, raised in the same transaction as any change to what `file/ls` shows:
-- the server reuses a serialized listing only while the counter has not moved. Triggers, not
-- application code, so no write path can forget it.

CREATE TABLE listing_generations (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    generation  INTEGER NOT NULL
);

CREATE TRIGGER files_listed_insert AFTER INSERT ON files
WHEN NEW.account_id IS NOT NULL
BEGIN
    INSERT INTO listing_generations (account_id, generation) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER files_listed_delete AFTER DELETE ON files
WHEN OLD.account_id IS NOT NULL
BEGIN
    INSERT INTO listing_generations (account_id, generation) VALUES (OLD.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER files_listed_update_old AFTER UPDATE OF
    account_id, folder_id, link_id, domain, name, size, whirlpool, content_type, created_at,
    pass_hash, acl_ip, acl_country, acl_email, acl_premium, cdn ON files
WHEN OLD.account_id IS NOT NULL
BEGIN
    INSERT INTO listing_generations (account_id, generation) VALUES (OLD.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER files_listed_update_new AFTER UPDATE OF account_id ON files
WHEN NEW.account_id IS NOT NULL AND NEW.account_id IS NOT OLD.account_id
BEGIN
    INSERT INTO listing_generations (account_id, generation) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET generation = generation + 1;
END;
