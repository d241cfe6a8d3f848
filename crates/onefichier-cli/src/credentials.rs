//! Where the API key is kept: the OS keyring when one is available, otherwise
//! `credentials.toml`, readable by its owner only. Tests and headless machines set
//! `ONEFICHIER_KEYRING=off`, or simply have no keyring, and get the file.

use crate::env_vars;
use crate::private_file::check_private;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `--api-key`.
    Flag,
    /// `ONEFICHIER_API_KEY`.
    Environment,
    /// The OS keyring.
    Keyring,
    /// The credentials file.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("the --api-key flag"),
            Self::Environment => write!(f, "the {} environment variable", env_vars::API_KEY),
            Self::Keyring => f.write_str("the OS keyring"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    #[serde(default)]
    profiles: BTreeMap<String, StoredKey>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredKey {
    api_key: String,
}

const SERVICE: &str = "onefichier";

fn keyring_enabled() -> bool {
    cfg!(feature = "keyring")
        && !std::env::var(env_vars::KEYRING).is_ok_and(|v| v.eq_ignore_ascii_case("off"))
}

#[cfg(feature = "keyring")]
mod os {
    use super::SERVICE;

    pub(super) fn get(profile: &str) -> Option<String> {
        keyring::Entry::new(SERVICE, profile)
            .ok()?
            .get_password()
            .ok()
    }

    pub(super) fn set(profile: &str, key: &str) -> bool {
        let Ok(entry) = keyring::Entry::new(SERVICE, profile) else {
            return false;
        };
        // Read it back: some keyrings accept a write they cannot serve.
        entry.set_password(key).is_ok() && entry.get_password().is_ok_and(|k| k == key)
    }

    pub(super) fn delete(profile: &str) -> bool {
        keyring::Entry::new(SERVICE, profile).is_ok_and(|e| e.delete_credential().is_ok())
    }
}

#[cfg(not(feature = "keyring"))]
mod os {
    pub(super) fn get(_: &str) -> Option<String> {
        None
    }
    pub(super) fn set(_: &str, _: &str) -> bool {
        false
    }
    pub(super) fn delete(_: &str) -> bool {
        false
    }
}

/// The credentials file's name in the config folder.
const FILE_NAME: &str = "credentials.toml";

fn file_path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

fn read_file(path: &Path) -> Result<CredentialsFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            check_private(path)?;
            toml::from_str(&text).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CredentialsFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_file(config_dir: &Path, credentials: &CredentialsFile) -> Result<PathBuf> {
    let text = toml::to_string(credentials).context("cannot encode the credentials")?;
    crate::private_file::write(config_dir, FILE_NAME, text.as_bytes())
}

/// The stored key of a profile, if any.
pub(crate) fn load(config_dir: &Path, profile: &str) -> Result<Option<(String, KeySource)>> {
    if keyring_enabled()
        && let Some(key) = os::get(profile)
    {
        return Ok(Some((key, KeySource::Keyring)));
    }
    let path = file_path(config_dir);
    let file = read_file(&path)?;
    Ok(file
        .profiles
        .get(profile)
        .map(|stored| (stored.api_key.clone(), KeySource::File(path))))
}

/// Stores a profile's key: in the keyring when possible, else in the file.
pub(crate) fn store(
    config_dir: &Path,
    profile: &str,
    key: &str,
    no_keyring: bool,
) -> Result<KeySource> {
    if keyring_enabled() && !no_keyring && os::set(profile, key) {
        // A key in the keyring must not be shadowed by an older one in the file.
        remove_from_file(config_dir, profile)?;
        return Ok(KeySource::Keyring);
    }
    let mut file = read_file(&file_path(config_dir))?;
    file.profiles.insert(
        profile.to_owned(),
        StoredKey {
            api_key: key.to_owned(),
        },
    );
    Ok(KeySource::File(write_file(config_dir, &file)?))
}

fn remove_from_file(config_dir: &Path, profile: &str) -> Result<bool> {
    let path = file_path(config_dir);
    if !path.exists() {
        return Ok(false);
    }
    let mut file = read_file(&path)?;
    let removed = file.profiles.remove(profile).is_some();
    if removed {
        write_file(config_dir, &file)?;
    }
    Ok(removed)
}

/// Removes a profile's key from everywhere; whether there was one.
pub(crate) fn remove(config_dir: &Path, profile: &str) -> Result<bool> {
    let from_keyring = keyring_enabled() && os::delete(profile);
    let from_file = remove_from_file(config_dir, profile)?;
    Ok(from_keyring || from_file)
}
