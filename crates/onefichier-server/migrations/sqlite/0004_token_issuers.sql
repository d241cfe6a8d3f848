-- A download token remembers the key that asked for it (its id and digest at that moment):
-- revoking or rotating the key ends its tokens.
ALTER TABLE download_tokens ADD COLUMN key_id INTEGER;
ALTER TABLE download_tokens ADD COLUMN key_digest BLOB;
