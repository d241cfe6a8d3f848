//! `remote`, `scan`, `vouchers`, `ftp`.

use super::Ctx;
use crate::cli::{FtpCommand, FtpUsersCommand, RemoteCommand, VoucherCommand};
use crate::remote;
use crate::secret_input::read_secret;
use anyhow::{Context, Result, bail};
use onefichier_client::protocol::ftp::UserAddRequest;
use onefichier_client::protocol::remote::RequestRequest;
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) async fn remote(ctx: &Ctx, command: RemoteCommand) -> Result<()> {
    let client = ctx.client()?;
    match command {
        RemoteCommand::Add {
            urls,
            to,
            headers,
            wait,
        } => {
            let mut parsed = BTreeMap::new();
            for header in &headers {
                let (name, value) = header
                    .split_once(':')
                    .with_context(|| format!("--header {header:?} is not 'Name: value'"))?;
                parsed.insert(name.trim().to_owned(), value.trim().to_owned());
            }
            let folder = client.resolve_folder(&to).await?;
            let job = client
                .remote_request(&RequestRequest {
                    urls,
                    folder_id: Some(folder),
                    headers: (!parsed.is_empty()).then_some(parsed),
                })
                .await?;
            if !wait {
                ctx.printer.document(&job);
                ctx.printer.line(format!(
                    "job {} requested; see `1fichier remote info {}`",
                    job.id, job.id
                ));
                return Ok(());
            }
            loop {
                let info = client.remote_info(job.id).await?;
                if !info.execution_date.is_empty() {
                    print_job(ctx, &info)?;
                    // A job that ran but fetched nothing (or not everything) is a failure.
                    let failed = info
                        .result
                        .iter()
                        .filter(|r| r.status == onefichier_client::protocol::Status::Ko)
                        .count();
                    if failed > 0 {
                        bail!(
                            "remote job {}: {failed} of {} URLs failed",
                            info.id,
                            info.result.len()
                        );
                    }
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        RemoteCommand::Ls => {
            let jobs = client.remote_ls().await?;
            ctx.printer.document(&jobs);
            for job in &jobs.data {
                let state = if job.execution_date.is_empty() {
                    "pending".to_owned()
                } else {
                    format!("done {}", job.execution_date)
                };
                ctx.printer
                    .line(format!("{}\t{}\t{state}", job.id, job.request_date));
            }
        }
        RemoteCommand::Info { id } => print_job(ctx, &client.remote_info(id).await?)?,
    }
    Ok(())
}

fn print_job(ctx: &Ctx, info: &onefichier_client::protocol::remote::Info) -> Result<()> {
    ctx.printer.document(info);
    for result in &info.result {
        match result.status {
            onefichier_client::protocol::Status::Ok => ctx
                .printer
                .line(format!("OK  {} -> {}", result.url, result.download_link)),
            onefichier_client::protocol::Status::Ko => ctx
                .printer
                .line(format!("KO  {}: {}", result.url, result.message)),
        }
    }
    if info.execution_date.is_empty() {
        ctx.printer.note("the job has not run yet");
    }
    Ok(())
}

pub(crate) async fn scan(ctx: &Ctx, file: &str) -> Result<()> {
    let client = ctx.client()?;
    let found = remote::file(&client, file, None).await?;
    let answer = client.file_scan(&found.url).await?;
    ctx.printer.document(&answer);
    ctx.printer.line(format!(
        "{}: clean{}",
        found.name,
        answer
            .date
            .map(|d| format!(" (scanned {d})"))
            .unwrap_or_default()
    ));
    Ok(())
}

pub(crate) async fn vouchers(ctx: &Ctx, command: VoucherCommand) -> Result<()> {
    let client = ctx.client()?;
    match command {
        VoucherCommand::Ls => {
            let list = client.vouchers().await?;
            ctx.printer.document(&list);
            for v in &list.data {
                ctx.printer.line(format!("{}\t{}", v.voucher, v.service));
            }
        }
        VoucherCommand::Check { voucher } => {
            let answer = client.voucher_check(&voucher).await?;
            ctx.printer.document(&answer);
            ctx.printer
                .line(format!("valid: {}", answer.service.unwrap_or_default()));
        }
        VoucherCommand::Use { voucher, email } => {
            let answer = client.voucher_use(&voucher, &email).await?;
            ctx.printer.document(&answer);
            ctx.printer
                .note(answer.message.unwrap_or_else(|| "voucher applied".into()));
        }
    }
    Ok(())
}

pub(crate) async fn ftp(ctx: &Ctx, command: FtpCommand) -> Result<()> {
    let client = ctx.client()?;
    match command {
        FtpCommand::Process => {
            let answer = client.ftp_process().await?;
            ctx.printer.document(&answer);
            ctx.printer.note(
                answer
                    .message
                    .unwrap_or_else(|| "processing requested".into()),
            );
        }
        FtpCommand::Users(FtpUsersCommand::Ls) => {
            let users = client.ftp_users().await?;
            ctx.printer.document(&users);
            for u in &users.items {
                ctx.printer
                    .line(format!("{}\tfolder {}\t{}", u.user, u.folder_id, u.date));
            }
        }
        FtpCommand::Users(FtpUsersCommand::Add {
            user,
            folder,
            stdin,
        }) => {
            let pass = read_secret(&format!("Password for FTP user {user}: "), stdin)
                .context("no password given")?;
            let folder_id = client.resolve_folder(&folder).await?;
            let answer = client
                .ftp_user_add(&UserAddRequest {
                    user,
                    pass,
                    folder_id: Some(folder_id),
                })
                .await?;
            ctx.printer.document(&answer);
            ctx.printer.note(answer.message.unwrap_or_default());
        }
        FtpCommand::Users(FtpUsersCommand::Rm { user }) => {
            let answer = client.ftp_user_rm(&user).await?;
            ctx.printer.document(&answer);
            ctx.printer.note(answer.message.unwrap_or_default());
        }
    }
    Ok(())
}
