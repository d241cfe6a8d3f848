//! `auth login|status|logout`.

use super::Ctx;
use crate::cli::AuthCommand;
use crate::credentials;
use crate::secret_input::read_secret;
use anyhow::{Context, Result, bail};
use serde_json::json;

pub(crate) async fn run(ctx: &Ctx, command: AuthCommand) -> Result<()> {
    let settings = &ctx.settings;
    match command {
        AuthCommand::Login { stdin, no_keyring } => {
            let key =
                read_secret("API key (from the API Manager): ", stdin).context("no key given")?;
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
            let source =
                credentials::store(&settings.config_dir, &settings.profile, &key, no_keyring)?;
            ctx.printer.note(format!(
                "Logged in as {} ({}); key stored in {source} for profile {}",
                info.email, info.offer, settings.profile
            ));
            ctx.printer.document(&json!({
                "profile": settings.profile, "email": info.email, "offer": info.offer.name(),
                "stored_in": source.to_string(),
            }));
        }
        AuthCommand::Status => {
            let Some((_, source)) = &settings.key else {
                bail!(crate::remote::NotFound(format!(
                    "no API key for profile {}: run `1fichier auth login` or set ONEFICHIER_API_KEY",
                    settings.profile
                )));
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
