//! Operator actions behind the binary's `account`, `key` and `voucher` commands, and the demo
//! account of `serve --dev`.

use crate::meta::{Account, ApiKey, FileRecord, MetaError, MetaRepo, NewKey};
use crate::secrets::{generate_key, key_digest, key_prefix, random_id};
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
    #[error("{0} has a free account: only premium, access and gold accounts may hold API keys")]
    FreeAccount(String),
    /// A label is 1 to 64 printable characters.
    #[error("a key label has 1 to 64 printable characters")]
    BadLabel,
    /// The account already has a key of this label.
    #[error("{email} already has a key labelled {label:?}")]
    KeyExists {
        /// The account.
        email: String,
        /// The label.
        label: String,
    },
    /// The account has no live key of this label.
    #[error("{email} has no key labelled {label:?}")]
    NoKey {
        /// The account.
        email: String,
        /// The label.
        label: String,
    },
    /// Not a voucher service.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The demo key could not be saved.
    #[error("cannot save the demo key in {}: {source}", path.display())]
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

/// Creates a key and returns its secret (shown once, stored as a digest only).
pub async fn create_key(
    repo: &dyn MetaRepo,
    email: &str,
    label: &str,
    allow_ips: Vec<IpNet>,
) -> Result<String> {
    let account = account(repo, email).await?;
    if !account.offer.is_customer() {
        return Err(AdminError::FreeAccount(email.to_owned()));
    }
    check_label(label)?;
    let secret = generate_key();
    let key = NewKey {
        account_id: account.id,
        label: label.to_owned(),
        digest: key_digest(&secret),
        prefix: key_prefix(&secret),
        allow_ips,
        created_at: now(),
    };
    match repo.insert_key(key).await {
        Err(MetaError::Conflict) => {
            return Err(AdminError::KeyExists {
                email: email.to_owned(),
                label: label.to_owned(),
            });
        }
        other => other?,
    };
    Ok(secret)
}

fn check_label(label: &str) -> Result<()> {
    if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
        return Err(AdminError::BadLabel);
    }
    Ok(())
}

/// The live keys of an account.
pub async fn list_keys(repo: &dyn MetaRepo, email: &str) -> Result<Vec<ApiKey>> {
    let account = account(repo, email).await?;
    Ok(repo.keys(account.id).await?)
}

/// Gives a key a new secret (same label and allow-list); the old secret stops working at once.
pub async fn rotate_key(repo: &dyn MetaRepo, email: &str, label: &str) -> Result<String> {
    let account = account(repo, email).await?;
    let secret = generate_key();
    repo.rotate_key(
        account.id,
        label,
        key_digest(&secret),
        &key_prefix(&secret),
        now(),
    )
    .await?
    .ok_or_else(|| no_key(email, label))?;
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
    if !repo.revoke_key(account.id, label, now()).await? {
        return Err(no_key(email, label));
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

/// Makes sure the demo premium account and its key exist, and returns the key. The key is kept
/// in `DATA/demo-api-key`, readable by the owner only, so every `--dev` start prints the same one.
pub async fn ensure_demo(repo: &dyn MetaRepo, data_dir: &Path) -> Result<String> {
    if repo.account_by_email(DEMO_EMAIL).await?.is_none() {
        create_account(repo, DEMO_EMAIL, Offer::Premium).await?;
    }
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
        create_key(repo, DEMO_EMAIL, DEMO_LABEL, Vec::new()).await?
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
