//! `auth login|status|logout`.

use super::Ctx;
use crate::cli::AuthCommand;
use crate::credentials;
use crate::secret_input::read_secret;
use anyhow::{Context, Result, bail};
use serde_json::json;

/// No key is configured for the profile (exit code 3, as for a refused key).
#[derive(Debug, thiserror::Error)]
#[error("no API key for profile {0}: run `1fichier auth login` or set ONEFICHIER_API_KEY")]
pub(crate) struct NoKey(String);

pub(crate) async fn run(ctx: &Ctx, command: AuthCommand) -> Result<()> {
    let settings = &ctx.settings;
    match command {
        AuthCommand::Login { stdin, no_keyring } => login(ctx, stdin, no_keyring).await?,
        AuthCommand::Status => {
            let Some((_, source)) = &settings.key else {
                bail!(NoKey(settings.profile.clone()));
            };
            let info = ctx.client()?.user_info().await?;
            ctx.printer.line(format!(
                "Profile {}: key from {source}, account {} ({}), API {}",
                settings.profile, info.email, info.offer, settings.api_url
            ));
            ctx.printer.document(&json!({
                "profile": settings.profile, "key_source": source.to_string(),
                "email": info.email, "offer": info.offer.name(), "api_url": settings.api_url,
            }));
        }
        AuthCommand::Logout => {
            let removed = credentials::remove(&settings.config_dir, &settings.profile)?;
            if removed {
                ctx.printer
                    .note(format!("Key of profile {} removed", settings.profile));
            } else {
                ctx.printer
                    .note(format!("No stored key for profile {}", settings.profile));
            }
            ctx.printer
                .document(&json!({"profile": settings.profile, "removed": removed}));
        }
    }
    Ok(())
}

/// `auth login`: the key exported, typed or piped in, checked against the server, then kept
/// (in the keyring, else a private file) with the server it belongs to.
async fn login(ctx: &Ctx, stdin: bool, no_keyring: bool) -> Result<()> {
    let settings = &ctx.settings;
    // A key already exported is the one to keep, unless one is typed or piped in.
    let exported = std::env::var(crate::env_vars::API_KEY)
        .ok()
        .filter(|key| !stdin && !key.trim().is_empty());
    let key = match exported {
        Some(key) => {
            ctx.printer
                .note(format!("storing the key of {}", crate::env_vars::API_KEY));
            key.trim().to_owned()
        }
        None => read_secret("API key (from the API Manager): ", stdin).context(
            "no key given: type it at the prompt, pipe it in with --stdin \
             (e.g. `pass show 1fichier | 1fichier auth login --stdin`), or export \
             ONEFICHIER_API_KEY first",
        )?,
    };
    // Check the key before keeping it.
    let client = onefichier_client::Client::builder()
        .api_url(&settings.api_url)
        .api_key(&key)
        .budgets(if settings.unlimited {
            onefichier_client::Budgets::unlimited()
        } else {
            onefichier_client::Budgets::live()
        })
        .build()?;
    let info = client.user_info().await?;
    let source = credentials::store(&settings.config_dir, &settings.profile, &key, no_keyring)?;
    ctx.printer.note(format!(
        "Logged in as {} ({}); key stored in {source} for profile {}",
        info.email, info.offer, settings.profile
    ));
    // The server the key belongs to, kept with the profile (the live service's URL
    // needs no keeping).
    if settings.api_url != onefichier_client::DEFAULT_API_URL || settings.ca_cert.is_some() {
        let config = crate::settings::remember_server(
            &settings.config_dir,
            &settings.profile,
            &settings.api_url,
            settings.ca_cert.as_deref(),
        )?;
        ctx.printer.note(format!(
            "API URL {} kept for profile {} in {}",
            settings.api_url,
            settings.profile,
            config.display()
        ));
    }
    ctx.printer.document(&json!({
        "profile": settings.profile, "email": info.email, "offer": info.offer.name(),
        "stored_in": source.to_string(),
    }));
    Ok(())
}
