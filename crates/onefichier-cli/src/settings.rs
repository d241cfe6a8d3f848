//! Settings resolve in one step: flags > environment > the profile in the config file >
//! defaults. Every environment variable is declared here, once.

use crate::cli::GlobalArgs;
use crate::credentials::{self, KeySource};
use crate::env_vars;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One profile of `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileConfig {
    api_url: Option<String>,
    /// `live` (default) or `unlimited`.
    budgets: Option<String>,
    /// A CA certificate (PEM file) to trust for this profile's server.
    ca_cert: Option<PathBuf>,
    /// The largest file this profile's server stores whole, in bytes.
    max_file_size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileConfig>,
}

/// Everything a command needs, resolved. Its `Debug` never shows the key.
pub(crate) struct Settings {
    pub(crate) profile: String,
    pub(crate) api_url: String,
    pub(crate) key: Option<(String, KeySource)>,
    pub(crate) unlimited: bool,
    /// An extra CA certificate (PEM file) to trust.
    pub(crate) ca_cert: Option<PathBuf>,
    pub(crate) config_dir: PathBuf,
    /// Longest wait accepted before a call.
    pub(crate) max_wait: Option<std::time::Duration>,
    /// Never use a kept listing.
    pub(crate) fresh: bool,
    /// The largest file stored whole, when not the service's.
    pub(crate) max_file_size: Option<u64>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("profile", &self.profile)
            .field("api_url", &self.api_url)
            .field(
                "key",
                &self.key.as_ref().map(|(_, source)| ("[redacted]", source)),
            )
            .field("unlimited", &self.unlimited)
            .field("ca_cert", &self.ca_cert)
            .field("config_dir", &self.config_dir)
            .field("max_wait", &self.max_wait)
            .field("fresh", &self.fresh)
            .field("max_file_size", &self.max_file_size)
            .finish()
    }
}

/// The folder of the config and credentials files.
pub(crate) fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(env_vars::CONFIG_DIR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "onefichier")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .context("cannot find the user's config folder: set ONEFICHIER_CONFIG_DIR")
}

/// Remembers, in `config.toml`, the API URL and CA certificate a profile was logged in with, so
/// that a self-hoster need not export them in every shell. Other profiles and settings stay.
pub(crate) fn remember_server(
    config_dir: &Path,
    profile: &str,
    api_url: &str,
    ca_cert: Option<&Path>,
) -> Result<PathBuf> {
    let path = config_dir.join("config.toml");
    let mut document: toml::Table = match std::fs::read_to_string(&path) {
        Ok(text) => text.parse().map_err(|e: toml::de::Error| {
            anyhow::anyhow!("cannot read {}: {}", path.display(), e.message())
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let profiles = document
        .entry("profiles")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(profiles) = profiles.as_table_mut() else {
        bail!("{}: `profiles` is not a table", path.display());
    };
    let entry = profiles
        .entry(profile)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(entry) = entry.as_table_mut() else {
        bail!("{}: profile {profile} is not a table", path.display());
    };
    entry.insert("api_url".into(), toml::Value::String(api_url.to_owned()));
    match ca_cert {
        Some(ca) => {
            let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_path_buf());
            entry.insert(
                "ca_cert".into(),
                toml::Value::String(ca.display().to_string()),
            );
        }
        None => {
            entry.remove("ca_cert");
        }
    }
    std::fs::create_dir_all(config_dir)
        .with_context(|| format!("cannot create {}", config_dir.display()))?;
    std::fs::write(&path, toml::to_string(&document)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

impl Settings {
    /// Resolves settings for a command.
    pub(crate) fn resolve(args: &GlobalArgs) -> Result<Self> {
        let config_dir = config_dir()?;
        let config_path = config_dir.join("config.toml");
        let config: ConfigFile = match std::fs::read_to_string(&config_path) {
            // No secret lives in config.toml (keys go to the keyring or credentials.toml), so
            // its mode is the user's business. A parse error names its cause without -v.
            Ok(text) => toml::from_str(&text).map_err(|e| {
                anyhow::anyhow!("cannot read {}: {}", config_path.display(), e.message())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", config_path.display()));
            }
        };
        let profile = config.profiles.get(&args.profile);
        if profile.is_none() && args.profile != "default" && config_path.exists() {
            tracing::debug!(profile = %args.profile, "profile not in config.toml");
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let api_url = args
            .api_url
            .clone()
            .or_else(|| env(env_vars::API_URL))
            .or_else(|| profile.and_then(|p| p.api_url.clone()))
            .unwrap_or_else(|| onefichier_client::DEFAULT_API_URL.to_owned());
        let budgets = env(env_vars::BUDGETS).or_else(|| profile.and_then(|p| p.budgets.clone()));
        let unlimited = match budgets.as_deref() {
            None | Some("live") => false,
            Some("unlimited") => true,
            Some(other) => bail!("budgets must be live or unlimited, not {other:?}"),
        };
        let ca_cert = env(env_vars::CA_CERT)
            .map(PathBuf::from)
            .or_else(|| profile.and_then(|p| p.ca_cert.clone()));
        let max_file_size = match env(env_vars::MAX_FILE_SIZE) {
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| {
                        format!(
                            "{} must be a number of bytes, not {text:?}",
                            env_vars::MAX_FILE_SIZE
                        )
                    })?,
            ),
            None => profile.and_then(|p| p.max_file_size),
        };
        let key = if let Some(key) = &args.api_key {
            crate::output::warn(
                "a key on the command line is visible to other users (ps); prefer `1fichier auth login` or ONEFICHIER_API_KEY",
            );
            Some((key.clone(), KeySource::Flag))
        } else if let Some(key) = env(env_vars::API_KEY) {
            Some((key, KeySource::Environment))
        } else {
            credentials::load(&config_dir, &args.profile)?
        };
        Ok(Self {
            profile: args.profile.clone(),
            api_url,
            key,
            unlimited,
            ca_cert,
            config_dir,
            max_wait: args.max_wait.map(std::time::Duration::from_secs),
            fresh: args.fresh,
            max_file_size,
        })
    }

    /// A client for these settings.
    /// A client for these settings; `observer` hears about its waits.
    pub(crate) fn client(
        &self,
        observer: std::sync::Arc<dyn onefichier_client::WaitObserver>,
    ) -> Result<onefichier_client::Client> {
        let mut builder = onefichier_client::Client::builder()
            .api_url(&self.api_url)
            .wait_observer(observer)
            .fresh_listings(self.fresh);
        if let Some(max) = self.max_wait {
            builder = builder.max_wait(max);
        }
        if let Some(bytes) = self.max_file_size {
            builder = builder.max_file_size(bytes);
        }
        if let Some((key, _)) = &self.key {
            builder = builder.api_key(key.trim());
        }
        if self.unlimited {
            builder = builder.budgets(onefichier_client::Budgets::unlimited());
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
            builder = builder
                .add_root_certificate_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        }
        Ok(builder.build()?)
    }
}
