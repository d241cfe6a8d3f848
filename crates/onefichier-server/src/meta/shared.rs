//! The [`MetaRepo`](super::MetaRepo) methods whose SQL every backend shares.
//!
//! SQLite and PostgreSQL run the same statements: `$N` placeholders (sqlx binds them by number on
//! SQLite too), `CAST(… AS BIGINT)` where PostgreSQL would widen a sum to NUMERIC, `EXISTS` rather
//! than a bare `SELECT 1` (INT4 there), `TRUE`/`FALSE` for flags (BOOLEAN there, 0/1 in SQLite).
//! The few that cannot be shared (the listing's aggregate, the per-account upload lock) are
//! written by each backend. A macro rather than generics: sqlx's executor and codec bounds over a
//! generic database would have to be repeated on every method.

/// Implements `MetaRepo` for `$repo` (a struct with a `pool` and an `ACCOUNT_LOCK` constant):
/// the shared methods, then the backend's own, given as `{ … }`.
macro_rules! sql_meta_repo {
    ($repo:ty, { $($own:tt)* }) => {
#[async_trait::async_trait]
impl MetaRepo for $repo {
    async fn create_account(&self, email: &str, offer: Offer, now: i64) -> MetaResult<Account> {
        let (hot, cold) = default_quotas(offer);
        // A year of subscription for paying offers, as a new customer would have.
        let end = offer.is_customer().then_some(now + 365 * 86_400);
        let row: AccountRow = sqlx::query_as(
            "INSERT INTO accounts (email, offer, created_at, subscription_end, hot_quota, cold_quota)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(email)
        .bind(offer.name())
        .bind(now)
        .bind(end)
        .bind(hot)
        .bind(cold)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        row.try_into()
    }

    async fn account_by_email(&self, email: &str) -> MetaResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as("SELECT * FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account(&self, id: i64) -> MetaResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as("SELECT * FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn accounts(&self) -> MetaResult<Vec<Account>> {
        let rows: Vec<AccountRow> = sqlx::query_as("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        collect(rows)
    }

    async fn set_inbox_allowance(&self, account_id: i64, bytes: i64) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET inbox_allowance = $1 WHERE id = $2")
            .bind(bytes)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_settings(&self, account_id: i64, s: &Settings) -> MetaResult<()> {
        sqlx::query(
            "UPDATE accounts SET two_factor = $1, mail_rm = $2, ftp_mode = $3, ftp_did = $4,
                ftp_report = $5, ru_report = $6, default_domain = $7, page_limit = $8,
                default_port = $9, default_port_files = $10, use_cdn = $11, download_menu = $12
             WHERE id = $13",
        )
        .bind(s.two_factor)
        .bind(s.mail_rm)
        .bind(s.ftp_mode)
        .bind(s.ftp_did)
        .bind(s.ftp_report)
        .bind(s.ru_report)
        .bind(s.default_domain)
        .bind(s.page_limit)
        .bind(s.default_port)
        .bind(s.default_port_files)
        .bind(s.use_cdn)
        .bind(s.download_menu)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_offer(
        &self,
        account_id: i64,
        offer: Offer,
        end: Option<i64>,
    ) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET offer = $1, subscription_end = $2 WHERE id = $3")
            .bind(offer.name())
            .bind(end)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn request_ftp_process(&self, account_id: i64, now: i64) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET ftp_process_requested_at = $1 WHERE id = $2")
            .bind(now)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_key(&self, key: NewKey) -> MetaResult<ApiKey> {
        let allow =
            serde_json::to_string(&key.allow_ips).map_err(|e| MetaError::Corrupt(e.to_string()))?;
        let row: KeyRow = sqlx::query_as(concat!(
            "INSERT INTO api_keys (account_id, label, digest, prefix, allow_ips, created_at,
                                   scope, folder_id, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            key_columns!()
        ))
        .bind(key.account_id)
        .bind(&key.label)
        .bind(&key.digest[..])
        .bind(&key.prefix)
        .bind(allow)
        .bind(key.created_at)
        .bind(key.scope.as_str())
        .bind(key.folder_id)
        .bind(key.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        row.try_into()
    }

    async fn key_by_digest(&self, digest: &[u8; 32]) -> MetaResult<Option<(ApiKey, [u8; 32])>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            key: KeyRow,
            digest: Vec<u8>,
        }
        let row: Option<Row> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            ", digest FROM api_keys WHERE digest = $1 AND revoked_at IS NULL"
        ))
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let stored: [u8; 32] = row
                .digest
                .as_slice()
                .try_into()
                .map_err(|_| MetaError::Corrupt("key digest length".into()))?;
            Ok((ApiKey::try_from(row.key)?, stored))
        })
        .transpose()
    }

    async fn touch_key(&self, key_id: i64, now: i64, ip: &str) -> MetaResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(now)
            .bind(ip)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn note_key_address(&self, key_id: i64, ip: &str, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "INSERT INTO key_addresses (key_id, ip, first_seen) VALUES ($1, $2, $3)
             ON CONFLICT (key_id, ip) DO NOTHING",
        )
        .bind(key_id)
        .bind(ip)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn key(&self, account_id: i64, key_id: i64) -> MetaResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL"
        ))
        .bind(account_id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn update_key(
        &self,
        account_id: i64,
        key_id: i64,
        label: &str,
        allow_ips: &[IpNet],
    ) -> MetaResult<bool> {
        let allow =
            serde_json::to_string(allow_ips).map_err(|e| MetaError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE api_keys SET label = $1, allow_ips = $2
             WHERE account_id = $3 AND id = $4 AND revoked_at IS NULL",
        )
        .bind(label)
        .bind(allow)
        .bind(account_id)
        .bind(key_id)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_key_event(&self, e: &KeyEvent) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO key_events (account_id, key_id, label, event, detail, ip, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.account_id)
        .bind(e.key_id)
        .bind(&e.label)
        .bind(e.event.as_str())
        .bind(&e.detail)
        .bind(&e.ip)
        .bind(e.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn key_events(&self, account_id: i64, limit: i64) -> MetaResult<Vec<KeyEvent>> {
        #[derive(FromRow)]
        struct Row {
            account_id: i64,
            key_id: Option<i64>,
            label: String,
            event: String,
            detail: String,
            ip: Option<String>,
            at: i64,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account_id, key_id, label, event, detail, ip, at FROM key_events
             WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| KeyEvent {
                account_id: r.account_id,
                key_id: r.key_id,
                label: r.label,
                event: KeyEventKind::from_name(&r.event),
                detail: r.detail,
                ip: r.ip,
                at: r.at,
            })
            .collect())
    }

    async fn ping(&self) -> MetaResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn stored_bytes(&self) -> MetaResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn create_web_account(
        &self,
        email: &str,
        password_hash: &str,
        admission: Admission<'_>,
        now: i64,
    ) -> MetaResult<Option<Account>> {
        let mut tx = self.pool.begin().await?;
        let offer = match admission {
            Admission::Open(offer) => offer,
            Admission::Invitation(digest) => {
                let offer: Option<String> = sqlx::query_scalar(
                    "UPDATE invitations SET used_at = $1
                     WHERE digest = $2 AND used_at IS NULL AND expires_at > $3 RETURNING offer",
                )
                .bind(now)
                .bind(&digest[..])
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(offer) = offer else {
                    return Ok(None);
                };
                Offer::from_str(&offer).map_err(|e| MetaError::Corrupt(e.to_string()))?
            }
        };
        let (hot, cold) = default_quotas(offer);
        let end = offer.is_customer().then_some(now + 365 * 86_400);
        let row: AccountRow = sqlx::query_as(
            "INSERT INTO accounts (email, offer, created_at, subscription_end, hot_quota,
                                   cold_quota, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(email)
        .bind(offer.to_string())
        .bind(now)
        .bind(end)
        .bind(hot)
        .bind(cold)
        .bind(password_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_or)?;
        if let Admission::Invitation(digest) = admission {
            sqlx::query("UPDATE invitations SET used_by = $1 WHERE digest = $2")
                .bind(row.id)
                .bind(&digest[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(row.try_into()?))
    }

    async fn insert_invitation(
        &self,
        digest: &[u8; 32],
        offer: Offer,
        now: i64,
        expires_at: i64,
    ) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO invitations (digest, offer, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&digest[..])
        .bind(offer.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn credentials(&self, account_id: i64) -> MetaResult<Credentials> {
        #[derive(FromRow)]
        struct Row {
            password_hash: Option<String>,
            totp_secret: Option<String>,
            totp_enabled: bool,
            totp_last_step: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT password_hash, totp_secret, totp_enabled, totp_last_step
             FROM accounts WHERE id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or_else(Credentials::default, |r| Credentials {
            password_hash: r.password_hash,
            totp_secret: r.totp_secret,
            totp_enabled: r.totp_enabled,
            totp_last_step: r.totp_last_step,
        }))
    }

    async fn set_password(&self, account_id: i64, password_hash: &str) -> MetaResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_totp(
        &self,
        account_id: i64,
        secret: Option<&str>,
        enabled: bool,
    ) -> MetaResult<()> {
        sqlx::query(
            "UPDATE accounts SET totp_secret = $1, totp_enabled = $2, two_factor = $3 WHERE id = $4",
        )
        .bind(secret)
        .bind(enabled)
        // user/info's `2fa`: 2 = authenticator app.
        .bind(if enabled { 2_i64 } else { 0 })
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn use_totp_step(&self, account_id: i64, step: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $3",
        )
        .bind(step)
        .bind(account_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_recovery_codes(&self, account_id: i64, digests: &[[u8; 32]]) -> MetaResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        for digest in digests {
            sqlx::query("INSERT INTO recovery_codes (account_id, digest) VALUES ($1, $2)")
                .bind(account_id)
                .bind(&digest[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        account_id: i64,
        digest: &[u8; 32],
        now: i64,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
             WHERE account_id = $2 AND digest = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(&digest[..])
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn recovery_codes_left(&self, account_id: i64) -> MetaResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn insert_session(&self, s: &WebSession) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO web_sessions (digest, account_id, csrf, created_at, seen_at, ip,
                                       pending_totp, proved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.digest[..])
        .bind(s.account_id)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.seen_at)
        .bind(&s.ip)
        .bind(s.pending_totp)
        .bind(s.proved_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        digest: &[u8; 32],
        now: i64,
        idle_before: i64,
        created_before: i64,
    ) -> MetaResult<Option<WebSession>> {
        #[derive(FromRow)]
        struct Row {
            account_id: i64,
            csrf: String,
            created_at: i64,
            seen_at: i64,
            ip: String,
            pending_totp: bool,
            proved_at: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "UPDATE web_sessions SET seen_at = $1
             WHERE digest = $2 AND seen_at >= $3 AND created_at >= $4
             RETURNING account_id, csrf, created_at, seen_at, ip, pending_totp, proved_at",
        )
        .bind(now)
        .bind(&digest[..])
        .bind(idle_before)
        .bind(created_before)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| WebSession {
            digest: *digest,
            account_id: r.account_id,
            csrf: r.csrf,
            created_at: r.created_at,
            seen_at: r.seen_at,
            ip: r.ip,
            pending_totp: r.pending_totp,
            proved_at: r.proved_at,
        }))
    }

    async fn complete_session(&self, digest: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("UPDATE web_sessions SET pending_totp = FALSE WHERE digest = $1")
            .bind(&digest[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prove_session(&self, digest: &[u8; 32], now: i64) -> MetaResult<()> {
        sqlx::query("UPDATE web_sessions SET proved_at = $1 WHERE digest = $2")
            .bind(now)
            .bind(&digest[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE digest = $1")
            .bind(&digest[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_other_sessions(&self, account_id: i64, keep: &[u8; 32]) -> MetaResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE account_id = $1 AND digest <> $2")
            .bind(account_id)
            .bind(&keep[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_stale_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> MetaResult<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn keys(&self, account_id: i64) -> MetaResult<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL
             ORDER BY label"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        collect(rows)
    }

    async fn rotate_key(
        &self,
        account_id: i64,
        label: &str,
        digest: [u8; 32],
        prefix: &str,
        now: i64,
    ) -> MetaResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "UPDATE api_keys SET digest = $1, prefix = $2, rotated_at = $3
             WHERE account_id = $4 AND label = $5 AND revoked_at IS NULL RETURNING ",
            key_columns!()
        ))
        .bind(&digest[..])
        .bind(prefix)
        .bind(now)
        .bind(account_id)
        .bind(label)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn set_key_expiry(
        &self,
        account_id: i64,
        label: &str,
        expires_at: Option<i64>,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET expires_at = $1
             WHERE account_id = $2 AND label = $3 AND revoked_at IS NULL",
        )
        .bind(expires_at)
        .bind(account_id)
        .bind(label)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_key(&self, account_id: i64, label: &str, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1
             WHERE account_id = $2 AND label = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(label)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn folder(&self, account_id: i64, id: i64) -> MetaResult<Option<Folder>> {
        let row: Option<FolderRow> =
            sqlx::query_as("SELECT * FROM folders WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Folder::from))
    }

    async fn folder_within(&self, account_id: i64, id: i64, ancestor: i64) -> MetaResult<bool> {
        if ancestor == 0 || id == ancestor {
            return Ok(true);
        }
        // Up from `id` through its parents; the depth bound stops a corrupt cycle.
        let found: bool = sqlx::query_scalar(
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT parent_id, 1 FROM folders WHERE account_id = $1 AND id = $2
                 UNION ALL
                 SELECT f.parent_id, up.depth + 1 FROM folders f JOIN up ON f.id = up.id
                 WHERE f.account_id = $3 AND up.depth < 1000
             )
             SELECT EXISTS (SELECT 1 FROM up WHERE id = $4)",
        )
        .bind(account_id)
        .bind(id)
        .bind(account_id)
        .bind(ancestor)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }

    async fn sub_folders(&self, account_id: i64, parent: i64) -> MetaResult<Vec<Folder>> {
        let rows: Vec<FolderRow> = sqlx::query_as(
            "SELECT * FROM folders WHERE account_id = $1 AND parent_id = $2 ORDER BY name, id",
        )
        .bind(account_id)
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Folder::from).collect())
    }

    async fn insert_folder(
        &self,
        account_id: i64,
        parent: i64,
        name: &str,
        now: i64,
    ) -> MetaResult<Folder> {
        let row: FolderRow = sqlx::query_as(
            "INSERT INTO folders (account_id, parent_id, name, created_at) VALUES ($1, $2, $3, $4)
             RETURNING *",
        )
        .bind(account_id)
        .bind(parent)
        .bind(name)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(row.into())
    }

    async fn move_folder(
        &self,
        account_id: i64,
        id: i64,
        parent: i64,
        name: &str,
    ) -> MetaResult<()> {
        sqlx::query("UPDATE folders SET parent_id = $1, name = $2 WHERE account_id = $3 AND id = $4")
            .bind(parent)
            .bind(name)
            .bind(account_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn delete_folder(&self, account_id: i64, id: i64) -> MetaResult<()> {
        sqlx::query("DELETE FROM folders WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn folder_usage(&self, account_id: i64, id: i64) -> MetaResult<(i64, i64)> {
        let usage: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files
             WHERE account_id = $1 AND folder_id = $2",
        )
        .bind(account_id)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(usage)
    }

    async fn set_public_share(
        &self,
        account_id: i64,
        id: i64,
        share_id: Option<&str>,
        pass_hash: Option<&str>,
    ) -> MetaResult<()> {
        sqlx::query(
            "UPDATE folders SET share_id = $1, share_pass_hash = $2 WHERE account_id = $3 AND id = $4",
        )
        .bind(share_id)
        .bind(pass_hash)
        .bind(account_id)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn folder_by_share_id(&self, share_id: &str) -> MetaResult<Option<Folder>> {
        let row: Option<FolderRow> = sqlx::query_as("SELECT * FROM folders WHERE share_id = $1")
            .bind(share_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Folder::from))
    }

    async fn group_shares(&self, folder_id: i64) -> MetaResult<Vec<GroupShare>> {
        let rows: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT email, rw, hide_links FROM folder_shares WHERE folder_id = $1 ORDER BY email",
        )
        .bind(folder_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(email, rw, hide_links)| GroupShare {
                email,
                rw,
                hide_links,
            })
            .collect())
    }

    async fn set_group_shares(&self, folder_id: i64, shares: &[GroupShare]) -> MetaResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM folder_shares WHERE folder_id = $1")
            .bind(folder_id)
            .execute(&mut *tx)
            .await?;
        for share in shares {
            sqlx::query(
                "INSERT INTO folder_shares (folder_id, email, rw, hide_links) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (folder_id, email)
                 DO UPDATE SET rw = excluded.rw, hide_links = excluded.hide_links",
            )
            .bind(folder_id)
            .bind(&share.email)
            .bind(share.rw)
            .bind(share.hide_links)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn listing_generation(&self, account_id: i64) -> MetaResult<i64> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM listing_generations WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(generation.unwrap_or(0))
    }

    async fn file_by_link(&self, link_id: &str) -> MetaResult<Option<FileRecord>> {
        let row: Option<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE link_id = $1"
        ))
        .bind(link_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(FileRecord::try_from).transpose()
    }

    async fn insert_file(&self, f: &FileRecord) -> MetaResult<FileRecord> {
        let row: FileRow = insert_file!(f)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        row.try_into()
    }

    async fn update_file(&self, f: &FileRecord) -> MetaResult<()> {
        sqlx::query(
            "UPDATE files SET folder_id = $1, name = $2, description = $3, pass_hash = $4, no_ssl = $5,
                inline = $6, cdn = $7, acl_ip = $8, acl_country = $9, acl_email = $10, acl_premium = $11
             WHERE id = $12",
        )
        .bind(f.folder_id)
        .bind(&f.name)
        .bind(&f.description)
        .bind(&f.pass_hash)
        .bind(f.no_ssl)
        .bind(f.inline)
        .bind(f.cdn)
        .bind(to_json(&f.acl.ip))
        .bind(to_json(&f.acl.country))
        .bind(to_json(&f.acl.email))
        .bind(f.acl.premium)
        .bind(f.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_files(&self, ids: &[i64]) -> MetaResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut freed = Vec::new();
        for id in ids {
            let blob: Option<(Option<String>,)> =
                sqlx::query_as("DELETE FROM files WHERE id = $1 RETURNING blob_id")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((Some(blob),)) = blob {
                // The blob row goes only when no file points at it; a copy made meanwhile keeps
                // it (and a copy cannot point at a deleted row: files.blob_id is a foreign key).
                let gone = sqlx::query(
                    "DELETE FROM blobs WHERE id = $1
                     AND NOT EXISTS (SELECT 1 FROM files WHERE blob_id = $1)",
                )
                .bind(&blob)
                .execute(&mut *tx)
                .await?;
                if gone.rows_affected() > 0 {
                    freed.push(blob);
                }
            }
        }
        tx.commit().await?;
        Ok(freed)
    }

    async fn insert_upload(
        &self,
        blobs: &[NewBlob],
        files: &[FileRecord],
        quota: Option<(i64, i64)>,
    ) -> MetaResult<Vec<FileRecord>> {
        // Uploads of one account are serialized until commit, so the sum read below sees every
        // committed upload and none can commit until this one ends: on SQLite the first write
        // takes the database's write lock; PostgreSQL takes a lock of the account's own.
        let mut tx = self.pool.begin().await?;
        if let (Some(lock), Some((account_id, _))) = (Self::ACCOUNT_LOCK, quota) {
            sqlx::query(lock).bind(account_id).execute(&mut *tx).await?;
        }
        let created_at = crate::state::now();
        for blob in blobs {
            sqlx::query(
                "INSERT INTO blobs (id, size, whirlpool, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&blob.id)
            .bind(blob.size)
            .bind(&blob.whirlpool)
            .bind(created_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        }
        let mut stored = Vec::with_capacity(files.len());
        for f in files {
            let row: FileRow = insert_file!(f)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict_or)?;
            stored.push(row.try_into()?);
        }
        if let Some((account_id, limit)) = quota {
            let (used,): (i64,) =
                sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if used > limit {
                tx.rollback().await?;
                return Err(MetaError::QuotaExceeded);
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn blobs(&self) -> MetaResult<Vec<NewBlob>> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT id, size, whirlpool FROM blobs ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, size, whirlpool)| NewBlob {
                id,
                size,
                whirlpool,
            })
            .collect())
    }

    async fn blob_known(&self, id: &str) -> MetaResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE id = $1)")
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn mark_scanned(&self, file_id: i64, now: i64) -> MetaResult<()> {
        sqlx::query("UPDATE files SET scanned_at = $1 WHERE id = $2")
            .bind(now)
            .bind(file_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn scanned_at(&self, file_id: i64) -> MetaResult<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT scanned_at FROM files WHERE id = $1")
                .bind(file_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(at,)| at))
    }

    async fn create_upload_session(&self, id: &str, now: i64) -> MetaResult<()> {
        // Old sessions are dropped as new ones come, so the table stays small.
        sqlx::query(
            "DELETE FROM upload_sessions WHERE created_at < $1 - 86400
             AND (report_expires_at IS NULL OR report_expires_at < $1)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query("INSERT INTO upload_sessions (id, created_at) VALUES ($1, $2)")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn claim_upload_session(
        &self,
        id: &str,
        issued_after: i64,
        now: i64,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE upload_sessions SET used_at = $1
             WHERE id = $2 AND used_at IS NULL AND created_at >= $3",
        )
        .bind(now)
        .bind(id)
        .bind(issued_after)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn store_upload_report(&self, id: &str, report: &str, expires_at: i64) -> MetaResult<()> {
        sqlx::query("UPDATE upload_sessions SET report = $1, report_expires_at = $2 WHERE id = $3")
            .bind(report)
            .bind(expires_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upload_report(&self, id: &str, now: i64) -> MetaResult<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT report FROM upload_sessions WHERE id = $1 AND report_expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(r,)| r))
    }

    async fn insert_token(&self, t: &DownloadToken) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO download_tokens
                 (token, file_id, created_at, inline, single, restrict_ip, key_id, key_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.token)
        .bind(t.file_id)
        .bind(t.created_at)
        .bind(t.inline)
        .bind(t.single)
        .bind(t.restrict_ip.code())
        .bind(t.issuer.map(|(id, _)| id))
        .bind(t.issuer.map(|(_, digest)| digest.to_vec()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token(
        &self,
        token: &str,
        now: i64,
    ) -> MetaResult<Option<(DownloadToken, FileRecord)>> {
        #[derive(FromRow)]
        struct Row {
            token: String,
            created_at: i64,
            first_used_at: Option<i64>,
            inline: bool,
            single: bool,
            restrict_ip: i64,
            bound_ip: Option<String>,
            key_id: Option<i64>,
            key_digest: Option<Vec<u8>>,
        }
        let Some(row): Option<Row> = sqlx::query_as(
            "SELECT token, created_at, first_used_at, inline, single, restrict_ip, bound_ip,
                    key_id, key_digest
             FROM download_tokens t WHERE token = $1
             AND (key_id IS NULL OR EXISTS (
                 SELECT 1 FROM api_keys k
                 WHERE k.id = t.key_id AND k.digest = t.key_digest AND k.revoked_at IS NULL
                 AND (k.expires_at IS NULL OR k.expires_at > $2)))",
        )
        .bind(token)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let file: Option<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE id = (SELECT file_id FROM download_tokens WHERE token = $1)"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let Some(file) = file else {
            return Ok(None);
        };
        let file = FileRecord::try_from(file)?;
        Ok(Some((
            DownloadToken {
                token: row.token,
                file_id: file.id,
                created_at: row.created_at,
                first_used_at: row.first_used_at,
                inline: row.inline,
                single: row.single,
                // Stored from a checked value: anything else is read as the strictest.
                restrict_ip: IpRestriction::from_code(row.restrict_ip)
                    .unwrap_or(IpRestriction::BoundAndSingle),
                bound_ip: row.bound_ip,
                issuer: match (row.key_id, row.key_digest) {
                    (Some(id), Some(digest)) => Some((
                        id,
                        digest
                            .as_slice()
                            .try_into()
                            .map_err(|_| MetaError::Corrupt("token key digest length".into()))?,
                    )),
                    _ => None,
                },
            },
            file,
        )))
    }

    async fn start_token(&self, token: &str, now: i64, ip: &str) -> MetaResult<()> {
        sqlx::query(
            "UPDATE download_tokens SET first_used_at = $1, bound_ip = $2
             WHERE token = $3 AND first_used_at IS NULL",
        )
        .bind(now)
        .bind(ip)
        .bind(token)
        .execute(&self.pool)
        .await?;
        // Expired tokens are dropped as new ones are used, so the table stays small.
        sqlx::query(
            "DELETE FROM download_tokens WHERE created_at < $1 - 3600
             AND (first_used_at IS NULL OR first_used_at < $1 - 3600)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_remote_job(&self, job: &RemoteJob, lease: &Lease<'_>) -> MetaResult<RemoteJob> {
        let row: RemoteRow = sqlx::query_as(
            "INSERT INTO remote_jobs (account_id, folder_id, urls, headers, request_date, result,
                                      claimed_by, lease_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(job.account_id)
        .bind(job.folder_id)
        .bind(to_json(&job.urls))
        .bind(&job.headers)
        .bind(job.request_date)
        .bind(&job.result)
        .bind(lease.owner)
        .bind(lease.until)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn remote_jobs(&self, account_id: i64) -> MetaResult<Vec<RemoteJob>> {
        let rows: Vec<RemoteRow> =
            sqlx::query_as("SELECT * FROM remote_jobs WHERE account_id = $1 ORDER BY id DESC")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        collect(rows)
    }

    async fn remote_job(&self, account_id: i64, id: i64) -> MetaResult<Option<RemoteJob>> {
        let row: Option<RemoteRow> =
            sqlx::query_as("SELECT * FROM remote_jobs WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(RemoteJob::try_from).transpose()
    }

    async fn update_remote_job(
        &self,
        id: i64,
        lease: &Lease<'_>,
        execution_date: Option<i64>,
        result: &str,
    ) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE remote_jobs SET execution_date = $1, result = $2, lease_until = $3
             WHERE id = $4 AND claimed_by = $5",
        )
        .bind(execution_date)
        .bind(result)
        .bind(lease.until)
        .bind(id)
        .bind(lease.owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn renew_remote_job(&self, id: i64, lease: &Lease<'_>) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE remote_jobs SET lease_until = $1
             WHERE id = $2 AND claimed_by = $3 AND execution_date IS NULL",
        )
        .bind(lease.until)
        .bind(id)
        .bind(lease.owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_remote_jobs(&self, lease: &Lease<'_>, now: i64) -> MetaResult<Vec<RemoteJob>> {
        // One statement: PostgreSQL re-checks the condition of a row another claim changed
        // meanwhile, and SQLite runs writes one at a time, so a job goes to one process.
        let mut rows: Vec<RemoteRow> = sqlx::query_as(
            "UPDATE remote_jobs SET claimed_by = $1, lease_until = $2
             WHERE execution_date IS NULL AND (lease_until IS NULL OR lease_until < $3)
             RETURNING *",
        )
        .bind(lease.owner)
        .bind(lease.until)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.sort_by_key(|row| row.id);
        collect(rows)
    }

    async fn storage_used(&self, account_id: i64) -> MetaResult<i64> {
        let (used,): (i64,) =
            sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(used)
    }

    async fn insert_voucher(&self, code: &str, service: &str, owner_id: i64) -> MetaResult<()> {
        sqlx::query("INSERT INTO vouchers (code, service, owner_id) VALUES ($1, $2, $3)")
            .bind(code)
            .bind(service)
            .bind(owner_id)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    async fn unused_vouchers(&self, owner_id: i64) -> MetaResult<Vec<VoucherRecord>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT code, service, owner_id, used_by FROM vouchers
             WHERE owner_id = $1 AND used_by IS NULL ORDER BY code",
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(voucher_from).collect())
    }

    async fn voucher(&self, code: &str) -> MetaResult<Option<VoucherRecord>> {
        let row: Option<(String, String, i64, Option<i64>)> =
            sqlx::query_as("SELECT code, service, owner_id, used_by FROM vouchers WHERE code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(voucher_from))
    }

    async fn mark_voucher_used(&self, code: &str, user_id: i64, now: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE vouchers SET used_by = $1, used_at = $2 WHERE code = $3 AND used_by IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .bind(code)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ftp_users(&self, account_id: i64) -> MetaResult<Vec<FtpUserRecord>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT \"user\", folder_id, created_at FROM ftp_users WHERE account_id = $1
             ORDER BY \"user\"",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user, folder_id, created_at)| FtpUserRecord {
                user,
                folder_id,
                created_at,
            })
            .collect())
    }

    async fn insert_ftp_user(
        &self,
        account_id: i64,
        user: &str,
        pass_hash: &str,
        folder_id: i64,
        now: i64,
    ) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO ftp_users (account_id, \"user\", pass_hash, folder_id, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account_id)
        .bind(user)
        .bind(pass_hash)
        .bind(folder_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    async fn delete_ftp_user(&self, account_id: i64, user: &str) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM ftp_users WHERE account_id = $1 AND \"user\" = $2")
            .bind(account_id)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    $($own)*
}
    };
}
