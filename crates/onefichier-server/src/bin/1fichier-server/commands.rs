//! The operator's commands (accounts, keys, invitations, vouchers, migrations, test files):
//! each parses nothing, calls [`onefichier_server::admin`] or [`onefichier_server::migrate`],
//! and prints what it did on standard output.

use crate::args::{AccountCommand, InviteCommand, KeyCommand, TestFileCommand, VoucherCommand};
use crate::storage::{open_blobs, open_meta};
use anyhow::{Context, Result};
use onefichier_protocol::date;
use onefichier_server::admin;
use onefichier_server::meta::{ApiKey, MetaRepo};
use onefichier_server::state::now;
use std::io::Write;
use std::path::Path;

/// Output of the commands: standard output, locked once.
type Out<'a> = std::io::StdoutLock<'a>;

/// `account …`.
pub(crate) async fn account(
    repo: &dyn MetaRepo,
    command: AccountCommand,
    out: &mut Out<'_>,
) -> Result<()> {
    match command {
        AccountCommand::Create { email, offer } => {
            let account = admin::create_account(repo, &email, offer).await?;
            writeln!(out, "{} {}", account.email, account.offer)?;
        }
        AccountCommand::SetOffer { email, offer } => {
            admin::set_offer(repo, &email, offer).await?;
            writeln!(out, "{email} {offer}")?;
        }
        AccountCommand::List => {
            for a in repo.accounts().await? {
                let end = a.subscription_end.map(date::format_unix);
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    a.email,
                    a.offer,
                    end.as_deref().unwrap_or("-")
                )?;
            }
        }
        AccountCommand::SetPassword { email } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            admin::set_password(repo, &email, password).await?;
            writeln!(out, "password set for {email}")?;
        }
        AccountCommand::ResetTwoFactor { email } => {
            admin::reset_two_factor(repo, &email).await?;
            writeln!(out, "two-factor authentication is off for {email}")?;
        }
    }
    Ok(())
}

/// `key …`.
pub(crate) async fn key(repo: &dyn MetaRepo, command: KeyCommand, out: &mut Out<'_>) -> Result<()> {
    match command {
        KeyCommand::Create {
            email,
            label,
            allow_ips,
            scope,
            folder,
            expires_in_days,
            json,
        } => {
            let folder_id = match folder {
                Some(folder) => Some(match folder.parse::<i64>() {
                    Ok(id) => id,
                    Err(_) => admin::resolve_folder(repo, &email, &folder).await?,
                }),
                None => None,
            };
            let options = admin::KeyOptions {
                allow_ips,
                scope,
                folder_id,
                expires_at: expires_in_days.map(|days| now() + i64::from(days) * 86_400),
            };
            let (key, secret) = admin::create_key(repo, &email, &label, options).await?;
            if json {
                let mut record = key_json(&key);
                record["key"] = secret.into();
                writeln!(out, "{record}")?;
            } else {
                writeln!(out, "{secret}")?;
            }
        }
        KeyCommand::List { email, json } => list_keys(repo, &email, json, out).await?,
        KeyCommand::Expire {
            email,
            label,
            in_days,
        } => {
            let at = match in_days.as_str() {
                "never" => None,
                days => Some(now() + expiry_days(days)? * 86_400),
            };
            admin::set_key_expiry(repo, &email, &label, at).await?;
            match at {
                Some(at) => writeln!(out, "{label} expires {}", date::format_unix(at))?,
                None => writeln!(out, "{label} never expires")?,
            }
        }
        KeyCommand::Rotate { email, label } => {
            let key = admin::rotate_key(repo, &email, &label).await?;
            writeln!(out, "{key}")?;
        }
        KeyCommand::Revoke { email, label } => {
            admin::revoke_key(repo, &email, &label).await?;
            writeln!(out, "revoked {label}")?;
        }
    }
    Ok(())
}

/// `--in-days`: a number of days from 0 to 36,500.
fn expiry_days(days: &str) -> Result<i64> {
    days.parse::<i64>()
        .ok()
        .filter(|d| (0..=36_500).contains(d))
        .with_context(|| format!("--in-days {days:?}: a number of days (0 to 36500) or never"))
}

/// `key list`: a table, or one JSON record per key.
async fn list_keys(repo: &dyn MetaRepo, email: &str, json: bool, out: &mut Out<'_>) -> Result<()> {
    let keys = admin::list_keys(repo, email).await?;
    if json {
        for k in &keys {
            writeln!(out, "{}", key_json(k))?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "LABEL\tPREFIX\tSCOPE\tFOLDER\tEXPIRES\tCREATED\tLAST USED\tALLOWED"
    )?;
    let when = |at: Option<i64>, none: &str| at.map_or_else(|| none.to_owned(), date::format_unix);
    for k in keys {
        let allowed: Vec<String> = k.allow_ips.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "{}\t{}…\t{}\t{}\t{}\t{}\t{}\t{}",
            k.label,
            k.prefix,
            k.scope,
            k.folder_id
                .map_or_else(|| "all".to_owned(), |id| id.to_string()),
            when(k.expires_at, "never"),
            date::format_unix(k.created_at),
            when(k.last_used_at, "never"),
            if allowed.is_empty() {
                "any".to_owned()
            } else {
                allowed.join(",")
            }
        )?;
    }
    Ok(())
}

/// A key's record as JSON (never its secret).
fn key_json(key: &ApiKey) -> serde_json::Value {
    serde_json::json!({
        "label": key.label,
        "prefix": key.prefix,
        "scope": key.scope.as_str(),
        "folder_id": key.folder_id,
        "expires_at": key.expires_at.map(date::format_unix),
        "allow_ips": key.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "created_at": date::format_unix(key.created_at),
        "rotated_at": key.rotated_at.map(date::format_unix),
        "last_used_at": key.last_used_at.map(date::format_unix),
        "last_used_ip": key.last_used_ip,
    })
}

/// `invite create`.
pub(crate) async fn invite(
    repo: &dyn MetaRepo,
    command: InviteCommand,
    out: &mut Out<'_>,
) -> Result<()> {
    let InviteCommand::Create { offer, days } = command;
    let code = admin::create_invitation(repo, offer, days).await?;
    writeln!(out, "{code}")?;
    Ok(())
}

/// `voucher create`.
pub(crate) async fn voucher(
    repo: &dyn MetaRepo,
    command: VoucherCommand,
    out: &mut Out<'_>,
) -> Result<()> {
    let VoucherCommand::Create { email, service } = command;
    let code = admin::create_voucher(repo, &email, &service).await?;
    writeln!(out, "{code}")?;
    Ok(())
}

/// `test-file add` (hidden): files of a given size without uploading them.
pub(crate) async fn test_file(
    repo: &dyn MetaRepo,
    command: TestFileCommand,
    out: &mut Out<'_>,
) -> Result<()> {
    let TestFileCommand::Add {
        email,
        name,
        folder_id,
        size,
        count,
    } = command;
    for i in 0..count {
        let name = if count == 1 {
            name.clone()
        } else {
            format!("{name}-{:05}", i + 1)
        };
        let file = admin::add_test_file(repo, &email, &name, folder_id, size).await?;
        writeln!(out, "https://1fichier.com/?{}", file.link_id)?;
    }
    Ok(())
}

/// `migrate --to-meta … --to-blobs …`: copies the metadata (every table checked), then the
/// blobs, from the stores in use to the ones named.
pub(crate) async fn migrate(
    repo: &dyn MetaRepo,
    data: &Path,
    blobs: Option<&str>,
    (to_meta, to_blobs): (Option<String>, Option<String>),
    out: &mut Out<'_>,
) -> Result<()> {
    if let Some(to_meta) = to_meta {
        let target = open_meta(data, Some(&to_meta)).await?;
        let moved = onefichier_server::migrate::migrate_meta(repo, target.as_ref(), |table| {
            tracing::info!(
                table = table.name,
                rows = table.rows,
                added = table.added,
                "table copied and checked"
            );
        })
        .await?;
        let rows: i64 = moved.iter().map(|table| table.rows).sum();
        let added: u64 = moved.iter().map(|table| table.added).sum();
        writeln!(
            out,
            "{} tables, {rows} rows: {added} copied, {} already there; every table checked",
            moved.len(),
            u64::try_from(rows).unwrap_or(0).saturating_sub(added)
        )?;
    }
    let Some(to_blobs) = to_blobs else {
        return Ok(());
    };
    let (from, _) = open_blobs(data, blobs).await?;
    let (to, _) = open_blobs(data, Some(&to_blobs)).await?;
    let done = onefichier_server::migrate::migrate_blobs(
        repo,
        from.as_ref(),
        to.as_ref(),
        |blob, what| {
            tracing::info!(blob = %blob.id, size = blob.size, "{what}");
        },
    )
    .await?;
    writeln!(
        out,
        "{} blobs: {} copied ({} bytes), {} already there, {} failed",
        done.blobs,
        done.copied,
        done.bytes,
        done.present,
        done.failed.len()
    )?;
    if let Some((id, why)) = done.failed.first() {
        anyhow::bail!(
            "{} blobs could not be migrated (first: {id}: {why}); run the command again",
            done.failed.len()
        );
    }
    Ok(())
}
