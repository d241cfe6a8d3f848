//! Operator actions behind the binary's `account`, `key` and `voucher` commands, and the demo
//! account of `serve --dev`.

use crate::meta::{
    Account, ApiKey, FileRecord, KeyEvent, KeyEventKind, KeyScope, MetaError, MetaRepo, NewKey,
};
use crate::secrets::{generate_key, hash_password, key_digest, key_prefix, random_id};
use crate::state::now;
use crate::vouchers::{ServiceError, VoucherService};
use ipnet::IpNet;
use onefichier_protocol::ids::NEW_LINK_ID_LEN;
use onefichier_protocol::user::Offer;
use std::path::{Path, PathBuf};

/// Why an operator action was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Not an e-mail address.
    #[error("{0:?} is not an e-mail address")]
    NotAnEmail(String),
    /// The e-mail already has an account.
    #[error("an account with e-mail {0} already exists")]
    AccountExists(String),
    /// No account has this e-mail.
    #[error("no account with e-mail {0}")]
    NoAccount(String),
    /// Free accounts hold no keys.
    #[error(
        "the account {0} is a free account: only premium, access and gold accounts may hold API keys"
    )]
    FreeAccount(String),
    /// A label is 1 to 64 printable characters.
    #[error("a key label has 1 to 64 printable characters")]
    BadLabel,
    /// The account already has a key of this label.
    #[error("the account {email} already has a key labelled {label:?}")]
    KeyExists {
        /// The account.
        email: String,
        /// The label.
        label: String,
    },
    /// The account has no live key of this label.
    #[error("the account {email} has no key labelled {label:?}")]
    NoKey {
        /// The account.
        email: String,
        /// The label.
        label: String,
    },
    /// An expiry in the past.
    #[error("the expiry date is already past")]
    ExpiryPast,
    /// No such folder.
    #[error("no folder {0}")]
    NoFolder(String),
    /// A web password is too short or too long.
    #[error("a password has 10 to 256 characters")]
    WeakPassword,
    /// Not a voucher service.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The demo key or password could not be saved.
    #[error("cannot save the demo login in {}: {source}", path.display())]
    DemoKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Result of an operator action.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// Creates an account.
pub async fn create_account(repo: &dyn MetaRepo, email: &str, offer: Offer) -> Result<Account> {
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(AdminError::NotAnEmail(email.to_owned()));
    }
    match repo.create_account(email, offer, now()).await {
        Err(MetaError::Conflict) => Err(AdminError::AccountExists(email.to_owned())),
        other => Ok(other?),
    }
}

/// Changes an account's offer; a new paying offer starts a year of subscription.
pub async fn set_offer(repo: &dyn MetaRepo, email: &str, offer: Offer) -> Result<()> {
    let account = account(repo, email).await?;
    let end = offer.is_customer().then(|| {
        account
            .subscription_end
            .unwrap_or_else(|| now() + 365 * 86_400)
    });
    repo.update_offer(account.id, offer, end).await?;
    Ok(())
}

/// The account of an e-mail, or an error naming it.
pub async fn account(repo: &dyn MetaRepo, email: &str) -> Result<Account> {
    repo.account_by_email(email)
        .await?
        .ok_or_else(|| AdminError::NoAccount(email.to_owned()))
}

/// What a new key may do, and from where.
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    /// Allowed caller networks; empty = any address.
    pub allow_ips: Vec<IpNet>,
    /// Full, read or upload-only.
    pub scope: KeyScope,
    /// Confinement to a folder's subtree.
    pub folder_id: Option<i64>,
    /// Expiry (Unix seconds).
    pub expires_at: Option<i64>,
}

/// Creates a key for the account of `email` and returns its secret (shown once, stored as a
/// digest only).
pub async fn create_key(
    repo: &dyn MetaRepo,
    email: &str,
    label: &str,
    options: KeyOptions,
) -> Result<(ApiKey, String)> {
    let account = account(repo, email).await?;
    create_account_key(repo, &account, label, options, None).await
}

/// Creates a key for `account`; `ip` is the address that asked (the browser's), for the record.
pub async fn create_account_key(
    repo: &dyn MetaRepo,
    account: &Account,
    label: &str,
    options: KeyOptions,
    ip: Option<&str>,
) -> Result<(ApiKey, String)> {
    if !account.offer.is_customer() {
        return Err(AdminError::FreeAccount(account.email.clone()));
    }
    check_label(label)?;
    if options.expires_at.is_some_and(|at| at <= now()) {
        return Err(AdminError::ExpiryPast);
    }
    if let Some(folder) = options.folder_id
        && folder != 0
        && repo.folder(account.id, folder).await?.is_none()
    {
        return Err(AdminError::NoFolder(folder.to_string()));
    }
    let secret = generate_key();
    let new = NewKey {
        account_id: account.id,
        label: label.to_owned(),
        digest: key_digest(&secret),
        prefix: key_prefix(&secret),
        allow_ips: options.allow_ips,
        created_at: now(),
        scope: options.scope,
        // Confinement to the root is no confinement.
        folder_id: options.folder_id.filter(|&id| id != 0),
        expires_at: options.expires_at,
    };
    let key = match repo.insert_key(new).await {
        Err(MetaError::Conflict) => {
            return Err(AdminError::KeyExists {
                email: account.email.clone(),
                label: label.to_owned(),
            });
        }
        other => other?,
    };
    let detail = describe_key(&key);
    record(repo, &key, KeyEventKind::Created, detail, ip).await?;
    Ok((key, secret))
}

/// The scope, folder, expiry and allow-list of a key, in words.
pub fn describe_key(key: &ApiKey) -> String {
    let mut parts = vec![format!("scope {}", key.scope)];
    if let Some(folder) = key.folder_id {
        parts.push(format!("folder {folder}"));
    }
    if let Some(at) = key.expires_at {
        parts.push(format!(
            "expires {}",
            onefichier_protocol::date::format_unix(at)
        ));
    }
    parts.push(format!("allowed from {}", allow_list_text(&key.allow_ips)));
    parts.join(", ")
}

/// An allow-list in words: `any address` or the networks joined by commas.
pub fn allow_list_text(allow_ips: &[IpNet]) -> String {
    if allow_ips.is_empty() {
        "any address".to_owned()
    } else {
        allow_ips
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn record(
    repo: &dyn MetaRepo,
    key: &ApiKey,
    event: KeyEventKind,
    detail: String,
    ip: Option<&str>,
) -> Result<()> {
    repo.insert_key_event(&KeyEvent {
        account_id: key.account_id,
        key_id: Some(key.id),
        label: key.label.clone(),
        event,
        detail,
        ip: ip.map(str::to_owned),
        at: now(),
    })
    .await?;
    Ok(())
}

fn check_label(label: &str) -> Result<()> {
    if label.trim().is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control)
    {
        return Err(AdminError::BadLabel);
    }
    Ok(())
}

/// The live keys of an account.
pub async fn list_keys(repo: &dyn MetaRepo, email: &str) -> Result<Vec<ApiKey>> {
    let account = account(repo, email).await?;
    Ok(repo.keys(account.id).await?)
}

/// Gives a key a new secret (same label, scope and allow-list); the old secret stops working
/// at once.
pub async fn rotate_key(repo: &dyn MetaRepo, email: &str, label: &str) -> Result<String> {
    let account = account(repo, email).await?;
    rotate_account_key(repo, &account, label, None).await
}

/// [`rotate_key`] for an account at hand; `ip` is the address that asked.
pub async fn rotate_account_key(
    repo: &dyn MetaRepo,
    account: &Account,
    label: &str,
    ip: Option<&str>,
) -> Result<String> {
    let secret = generate_key();
    let key = repo
        .rotate_key(
            account.id,
            label,
            key_digest(&secret),
            &key_prefix(&secret),
            now(),
        )
        .await?
        .ok_or_else(|| no_key(&account.email, label))?;
    let detail = format!("new prefix {}", key.prefix);
    record(repo, &key, KeyEventKind::Rotated, detail, ip).await?;
    Ok(secret)
}

fn no_key(email: &str, label: &str) -> AdminError {
    AdminError::NoKey {
        email: email.to_owned(),
        label: label.to_owned(),
    }
}

/// Revokes a key.
pub async fn revoke_key(repo: &dyn MetaRepo, email: &str, label: &str) -> Result<()> {
    let account = account(repo, email).await?;
    revoke_account_key(repo, &account, label, None).await
}

/// [`revoke_key`] for an account at hand; `ip` is the address that asked.
pub async fn revoke_account_key(
    repo: &dyn MetaRepo,
    account: &Account,
    label: &str,
    ip: Option<&str>,
) -> Result<()> {
    let key = repo
        .keys(account.id)
        .await?
        .into_iter()
        .find(|k| k.label == label)
        .ok_or_else(|| no_key(&account.email, label))?;
    if !repo.revoke_key(account.id, label, now()).await? {
        return Err(no_key(&account.email, label));
    }
    record(repo, &key, KeyEventKind::Revoked, String::new(), ip).await
}

/// Sets or clears a key's expiry (a time in the past ends it at once).
pub async fn set_key_expiry(
    repo: &dyn MetaRepo,
    email: &str,
    label: &str,
    expires_at: Option<i64>,
) -> Result<()> {
    let account = account(repo, email).await?;
    if !repo.set_key_expiry(account.id, label, expires_at).await? {
        return Err(no_key(email, label));
    }
    Ok(())
}

/// Renames a key and sets its allow-list, recording what changed.
pub async fn update_account_key(
    repo: &dyn MetaRepo,
    account: &Account,
    key: &ApiKey,
    label: &str,
    allow_ips: Vec<IpNet>,
    ip: Option<&str>,
) -> Result<()> {
    check_label(label)?;
    match repo.update_key(account.id, key.id, label, &allow_ips).await {
        Ok(true) => {}
        Ok(false) => return Err(no_key(&account.email, &key.label)),
        Err(MetaError::Conflict) => {
            return Err(AdminError::KeyExists {
                email: account.email.clone(),
                label: label.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let mut updated = key.clone();
    updated.label = label.to_owned();
    if key.label != label {
        let detail = format!("was {:?}", key.label);
        record(repo, &updated, KeyEventKind::Renamed, detail, ip).await?;
    }
    if key.allow_ips != allow_ips {
        let detail = format!(
            "allowed from {} (was {})",
            allow_list_text(&allow_ips),
            allow_list_text(&key.allow_ips)
        );
        record(repo, &updated, KeyEventKind::AllowList, detail, ip).await?;
    }
    Ok(())
}

/// The id of the folder at `path` (`/a/b`; `/` is the root, 0) in an account.
pub async fn resolve_folder(repo: &dyn MetaRepo, email: &str, path: &str) -> Result<i64> {
    let account = account(repo, email).await?;
    let mut id = 0;
    for name in path.split('/').filter(|n| !n.is_empty()) {
        id = repo
            .sub_folders(account.id, id)
            .await?
            .into_iter()
            .find(|f| f.name == name)
            .map(|f| f.id)
            .ok_or_else(|| AdminError::NoFolder(path.to_owned()))?;
    }
    Ok(id)
}

/// Creates an invitation to sign up with `offer`, valid `days`; returns its code (stored as a
/// digest only).
pub async fn create_invitation(repo: &dyn MetaRepo, offer: Offer, days: u32) -> Result<String> {
    let code = random_id(24, false);
    let now = now();
    repo.insert_invitation(
        &key_digest(&code),
        offer,
        now,
        now + i64::from(days.max(1)) * 86_400,
    )
    .await?;
    Ok(code)
}

/// Sets the web password of the account of `email` and ends its browser sessions.
pub async fn set_password(repo: &dyn MetaRepo, email: &str, password: &str) -> Result<()> {
    let account = account(repo, email).await?;
    check_web_password(password)?;
    repo.set_password(account.id, &hash_password(password))
        .await?;
    repo.delete_other_sessions(account.id, &[0; 32]).await?;
    Ok(())
}

/// Turns the account's second factor off and forgets its recovery codes; its browser sessions
/// end (for an owner who lost both the app and the codes).
pub async fn reset_two_factor(repo: &dyn MetaRepo, email: &str) -> Result<()> {
    let account = account(repo, email).await?;
    repo.set_totp(account.id, None, false).await?;
    repo.set_recovery_codes(account.id, &[]).await?;
    repo.delete_other_sessions(account.id, &[0; 32]).await?;
    Ok(())
}

/// A web password has 10 to 256 characters.
pub fn check_web_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !(10..=256).contains(&chars) {
        return Err(AdminError::WeakPassword);
    }
    Ok(())
}

/// Creates a voucher held by a reseller account and returns its code.
pub async fn create_voucher(repo: &dyn MetaRepo, email: &str, service: &str) -> Result<String> {
    let account = account(repo, email).await?;
    let service: VoucherService = service.parse()?;
    let code = random_id(32, false);
    repo.insert_voucher(&code, &service.to_string(), account.id)
        .await?;
    Ok(code)
}

/// Adds a file's metadata without bytes, for tests of the metadata endpoints.
pub async fn add_test_file(
    repo: &dyn MetaRepo,
    email: &str,
    name: &str,
    folder_id: i64,
    size: i64,
) -> Result<FileRecord> {
    let account = account(repo, email).await?;
    let file = FileRecord {
        id: 0,
        link_id: random_id(NEW_LINK_ID_LEN, true),
        account_id: Some(account.id),
        folder_id,
        name: name.to_owned(),
        size,
        // Whirlpool of nothing: these files carry no bytes.
        whirlpool: "19fa61d75522a4669b44e39c1d2e1726c530232130d407f89afee0964997f7a73e83be698b288febcf88e3e03c4f0757ea8964e59b63d93708b138cc42a66eb3".to_owned(),
        content_type: "application/octet-stream".to_owned(),
        created_at: now(),
        description: String::new(),
        pass_hash: None,
        no_ssl: false,
        inline: false,
        cdn: false,
        acl: Default::default(),
        domain: account.settings.default_domain,
        remove_code: None,
        blob_id: None,
    };
    Ok(repo.insert_file(&file).await?)
}

/// The demo account of `serve --dev`.
pub const DEMO_EMAIL: &str = "demo@example.com";
const DEMO_LABEL: &str = "demo";
const DEMO_KEY_FILE: &str = "demo-api-key";

const DEMO_PASSWORD_FILE: &str = "demo-password";

/// What `serve --dev` prints: the demo account's API key and website password.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The API key.
    pub key: String,
    /// The website password.
    pub password: String,
}

/// Makes sure the demo premium account, its key and its website password exist, and returns
/// them. Both are kept in `DATA/demo-api-key` and `DATA/demo-password`, readable by the owner
/// only, so every `--dev` start prints the same ones.
pub async fn ensure_demo(repo: &dyn MetaRepo, data_dir: &Path) -> Result<Demo> {
    let account = match repo.account_by_email(DEMO_EMAIL).await? {
        Some(account) => account,
        None => create_account(repo, DEMO_EMAIL, Offer::Premium).await?,
    };
    let password_file = data_dir.join(DEMO_PASSWORD_FILE);
    let saved = std::fs::read_to_string(&password_file).ok();
    let password = match saved.map(|p| p.trim().to_owned()) {
        Some(password) if repo.credentials(account.id).await?.password_hash.is_some() => password,
        _ => {
            let password = random_id(16, false);
            repo.set_password(account.id, &hash_password(&password))
                .await?;
            write_private(&password_file, &password).map_err(|source| AdminError::DemoKeyFile {
                path: password_file,
                source,
            })?;
            password
        }
    };
    let key = ensure_demo_key(repo, data_dir).await?;
    Ok(Demo { key, password })
}

async fn ensure_demo_key(repo: &dyn MetaRepo, data_dir: &Path) -> Result<String> {
    let key_file = data_dir.join(DEMO_KEY_FILE);
    if let Ok(saved) = std::fs::read_to_string(&key_file) {
        let saved = saved.trim().to_owned();
        if repo.key_by_digest(&key_digest(&saved)).await?.is_some() {
            return Ok(saved);
        }
    }
    let has_key = list_keys(repo, DEMO_EMAIL)
        .await?
        .iter()
        .any(|k| k.label == DEMO_LABEL);
    let secret = if has_key {
        rotate_key(repo, DEMO_EMAIL, DEMO_LABEL).await?
    } else {
        create_key(repo, DEMO_EMAIL, DEMO_LABEL, KeyOptions::default())
            .await?
            .1
    };
    write_private(&key_file, &secret).map_err(|source| AdminError::DemoKeyFile {
        path: key_file,
        source,
    })?;
    Ok(secret)
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()
}
