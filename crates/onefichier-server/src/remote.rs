//! Remote uploads: background jobs that fetch URLs into an account, with a guard against
//! server-side request forgery.
//!
//! Every hop (redirects are followed by hand, at most 5) is resolved first; unless its host is
//! on the operator's allow-list, a target resolving to a loopback, private, link-local or other
//! internal address is refused, and the connection goes to the addresses that were checked (no
//! second lookup an attacker's DNS could answer differently).
//!
//! Several server processes may share one database: a job is claimed by one process for a lease
//! (`--remote-lease-seconds`, 60) at a time, renewed every third of it while the process works;
//! when a process dies, another takes its jobs over once their claims ran out (each process
//! looks every half lease).

use crate::domain::uploads::{Content, new_file};
use crate::meta::{FileRecord, Lease, RemoteJob};
use crate::secrets::random_id;
use crate::state::{AppState, now};
use crate::transfer::{StoreError, content_type_of, store_stream};
use futures::TryStreamExt;
use onefichier_protocol::Status;
use onefichier_protocol::ids::{self, FORBIDDEN_NAME_CHARS, MAX_NAME_LEN};
use onefichier_protocol::remote::UrlResult;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use url::Url;

/// Redirects followed per URL.
const MAX_REDIRECTS: usize = 5;

/// This process's name in job claims, random per start.
fn owner() -> &'static str {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER.get_or_init(|| format!("{}-{}", std::process::id(), random_id(12, true)))
}

/// A claim by this process, from now for the configured lease.
pub fn lease(state: &AppState) -> Lease<'static> {
    Lease {
        owner: owner(),
        until: now() + state.config().remote_lease.as_secs() as i64,
    }
}

/// Whether an address is reachable on the public internet (not internal in any way).
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))) // benchmarking
}

/// One classifier for every IPv6 form: addresses that embed an IPv4 address (mapped,
/// translated, compatible, NAT64, 6to4) are judged by that address; Teredo and the other IETF
/// special-purpose blocks are refused (a tunnel can lead anywhere); everything else must be
/// global unicast (2000::/3), which leaves out unspecified, loopback, unique-local, link-local,
/// site-local and multicast.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let last_v4 = || Ipv4Addr::from(u128::from(ip) as u32);
    let embedded = match s {
        // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated, SIIT).
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last_v4()),
        // ::a.b.c.d (IPv4-compatible, deprecated), :: and ::1 included.
        [0, 0, 0, 0, 0, 0, _, _] => Some(last_v4()),
        // NAT64: 64:ff9b::/96 and the local-use 64:ff9b:1::/48.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(last_v4()),
        // 6to4: 2002:AABB:CCDD::/48 tunnels to a.b.c.d.
        [0x2002, high, low, ..] => Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    };
    if let Some(v4) = embedded {
        return is_public_v4(v4);
    }
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    // 2001::/23 (Teredo, ORCHID, benchmarking), 2001:db8::/32 and 3fff::/20 (documentation).
    let ietf_special =
        (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8)) || (s[0] & 0xfff0) == 0x3ff0;
    global_unicast && !ietf_special
}

/// Runs a job this process has claimed, in the background, renewing the claim meanwhile; if
/// the claim is lost (this process stalled past its lease and another took the job over), the
/// work stops.
pub fn spawn(state: AppState, job: RemoteJob) {
    tokio::spawn(async move {
        let outcome = tokio::select! {
            outcome = run(&state, &job) => outcome,
            lost = keep_claim(&state, job.id) => lost,
        };
        if let Err(error) = outcome {
            tracing::error!(job = job.id, %error, "remote upload job failed");
        }
    });
}

/// Renews the claim on a job until it cannot; then says why.
async fn keep_claim(state: &AppState, id: i64) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(state.config().remote_lease / 3).await;
        if !state.repo().renew_remote_job(id, &lease(state)).await? {
            anyhow::bail!("another server process took the job over");
        }
    }
}

/// Claims and runs the jobs nobody holds: at start-up those a previous run left unfinished,
/// later those of a process that died.
pub async fn take_over(state: &AppState) -> anyhow::Result<usize> {
    let jobs = state.repo().claim_remote_jobs(&lease(state), now()).await?;
    let count = jobs.len();
    for job in jobs {
        spawn(state.clone(), job);
    }
    Ok(count)
}

/// Runs [`take_over`] every half lease.
pub fn schedule_take_over(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config().remote_lease / 2);
        tick.tick().await;
        loop {
            tick.tick().await;
            match take_over(&state).await {
                Ok(0) => {}
                Ok(taken) => tracing::info!(taken, "remote upload jobs taken over"),
                Err(error) => tracing::warn!(%error, "taking remote upload jobs over failed"),
            }
        }
    });
}

async fn run(state: &AppState, job: &RemoteJob) -> anyhow::Result<()> {
    let headers: BTreeMap<String, String> = serde_json::from_str(&job.headers)?;
    let mut results: Vec<UrlResult> = serde_json::from_str(&job.result).unwrap_or_default();
    for url in job.urls.iter().skip(results.len()) {
        let outcome = fetch(state, job, url, &headers).await;
        results.push(match outcome {
            Ok(file) => UrlResult {
                status: Status::Ok,
                url: url.clone(),
                download_link: crate::domain::links::link_url(&state.config().names, &file),
                message: String::new(),
            },
            Err(message) => {
                tracing::info!(job = job.id, %url, %message, "remote fetch refused or failed");
                UrlResult {
                    status: Status::Ko,
                    url: url.clone(),
                    download_link: String::new(),
                    message,
                }
            }
        });
        let kept = state
            .repo()
            .update_remote_job(
                job.id,
                &lease(state),
                None,
                &serde_json::to_string(&results)?,
            )
            .await?;
        anyhow::ensure!(kept, "another server process took the job over");
    }
    let kept = state
        .repo()
        .update_remote_job(
            job.id,
            &lease(state),
            Some(now()),
            &serde_json::to_string(&results)?,
        )
        .await?;
    anyhow::ensure!(kept, "another server process took the job over");
    Ok(())
}

/// Whether `--remote-allow-host` lets this host and port through: entries are `host`,
/// `host:port`, `[v6]` or `[v6]:port` (a bare IPv6 address has no port); a port, when given,
/// must match.
fn allowed_host(state: &AppState, host: &str, port: u16) -> bool {
    state
        .config()
        .remote_allow_hosts
        .iter()
        .any(|entry| allow_entry_matches(entry, host, port))
}

fn allow_entry_matches(entry: &str, host: &str, port: u16) -> bool {
    let (allowed_host, allowed_port) = if let Some(rest) = entry.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, "")) => (v6, None),
            Some((v6, tail)) => match tail.strip_prefix(':').map(str::parse::<u16>) {
                Some(Ok(p)) => (v6, Some(p)),
                _ => return false,
            },
            None => return false,
        }
    } else {
        match entry.split_once(':') {
            Some((name, p)) if !p.contains(':') => match p.parse::<u16>() {
                Ok(p) => (name, Some(p)),
                Err(_) => return false,
            },
            _ => (entry, None),
        }
    };
    allowed_host.eq_ignore_ascii_case(host) && allowed_port.is_none_or(|p| p == port)
}

/// Resolves a URL's host and checks every address it resolves to.
async fn checked_addresses(state: &AppState, url: &Url) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addresses.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allowed_host(state, bare, port) && addresses.iter().any(|a| !is_public(a.ip())) {
        return Err(format!("refused: {host} resolves to an internal address"));
    }
    Ok(addresses)
}

async fn fetch(
    state: &AppState,
    job: &RemoteJob,
    url: &str,
    headers: &BTreeMap<String, String>,
) -> Result<FileRecord, String> {
    let mut current = Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        if !matches!(current.scheme(), "http" | "https") {
            return Err(format!("unsupported scheme {}", current.scheme()));
        }
        let addresses = checked_addresses(state, &current).await?;
        let host = current.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .resolve_to_addrs(
                host.trim_start_matches('[').trim_end_matches(']'),
                &addresses,
            )
            .build()
            .map_err(|e| format!("client: {e}"))?;
        let mut request = client.get(current.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("HTTP {status} without Location"))?;
            current = current
                .join(location)
                .map_err(|e| format!("bad redirect: {e}"))?;
            continue;
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        return store(state, job, &current, response).await;
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

async fn store(
    state: &AppState,
    job: &RemoteJob,
    url: &Url,
    response: reqwest::Response,
) -> Result<FileRecord, String> {
    let limit = state.config().max_file_size;
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(format!("file too large (over {limit} bytes)"));
    }
    let name = file_name(
        response
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok()),
        url,
    );
    let declared_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v != "application/octet-stream");
    let stream = response.bytes_stream().map_err(std::io::Error::other);
    let blob = match store_stream(state, stream, limit).await {
        Ok(blob) => blob,
        Err(StoreError::TooLarge(limit)) => {
            return Err(format!("file too large (over {limit} bytes)"));
        }
        Err(StoreError::Io(e)) => return Err(format!("transfer failed: {e}")),
    };
    let refuse = |message: String| async {
        state.free_blobs(std::slice::from_ref(&blob.id)).await;
        Err(message)
    };
    if blob.size == 0 {
        return refuse("empty file".to_owned()).await;
    }
    let account = match state.repo().account(job.account_id).await {
        Ok(Some(account)) => account,
        _ => return refuse("the account is gone".to_owned()).await,
    };
    // The destination may have been deleted since the request: fall back to the root.
    let folder = match state.repo().folder(account.id, job.folder_id).await {
        Ok(Some(f)) => f.id,
        _ => 0,
    };
    let content_type = declared_type.unwrap_or_else(|| content_type_of(&name));
    let domain = account.settings.default_domain;
    let content = Content::of_blob(&blob, content_type);
    let file = new_file(Some(account.id), folder, name, content, (domain, now()));
    match state
        .repo()
        .insert_upload(
            std::slice::from_ref(&blob),
            &[file],
            Some((account.id, account.hot_quota)),
        )
        .await
    {
        Ok(mut stored) => Ok(stored.remove(0)),
        Err(crate::meta::MetaError::QuotaExceeded) => {
            refuse("storage quota exceeded".to_owned()).await
        }
        Err(e) => {
            tracing::error!(error = %e, "remote upload not recorded");
            refuse("internal error".to_owned()).await
        }
    }
}

/// The stored name: `Content-Disposition`'s file name, else the URL's last path segment, made
/// acceptable to the service's name rules.
pub fn file_name(disposition: Option<&str>, url: &Url) -> String {
    let from_header = disposition.and_then(|d| {
        let params: Vec<&str> = d.split(';').map(str::trim).collect();
        params
            .iter()
            .find_map(|p| p.strip_prefix("filename*="))
            .and_then(|v| v.split_once("''").map(|(_, encoded)| encoded))
            .and_then(|encoded| {
                percent_encoding::percent_decode_str(encoded)
                    .decode_utf8()
                    .ok()
            })
            .map(|s| s.into_owned())
            .or_else(|| {
                params
                    .iter()
                    .find_map(|p| p.strip_prefix("filename="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
    });
    let from_url = || {
        url.path_segments()
            .and_then(|mut s| s.next_back().map(str::to_owned))
            .and_then(|s| {
                percent_encoding::percent_decode_str(&s)
                    .decode_utf8()
                    .ok()
                    .map(|c| c.into_owned())
            })
    };
    let raw = from_header.or_else(from_url).unwrap_or_default();
    let raw = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if FORBIDDEN_NAME_CHARS.contains(&c) || c.is_control() || ids::is_bidi_control(c) {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME_LEN)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if ids::check_name(&cleaned).is_err() {
        "download".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "255.255.255.255",
            "224.0.0.1",
            // Every IPv6 form of an internal IPv4 address, and other non-global blocks.
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "64:ff9b:1::a00:1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "fec0::1",
            "ff02::1",
            "::",
            "100::1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "1.1.1.1",
            "2606:4700:4700::1111",
            "93.184.216.34",
            "2002:5db8:d822::1",
            "64:ff9b::101:101",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn allow_entries_match_host_and_port() {
        assert!(allow_entry_matches("files.lan", "files.lan", 80));
        assert!(allow_entry_matches("FILES.lan:8080", "files.lan", 8080));
        assert!(!allow_entry_matches("files.lan:8080", "files.lan", 22));
        assert!(allow_entry_matches("[::1]:9000", "::1", 9000));
        assert!(!allow_entry_matches("[::1]:9000", "::1", 9001));
        assert!(allow_entry_matches("::1", "::1", 5));
        assert!(allow_entry_matches("[::1]", "::1", 5));
        assert!(!allow_entry_matches("files.lan:x", "files.lan", 80));
    }

    #[test]
    fn names_from_headers_and_urls() {
        let url = Url::parse("https://example.com/dir/a%20b.iso?x=1").unwrap();
        assert_eq!(file_name(None, &url), "a b.iso");
        assert_eq!(
            file_name(Some("attachment; filename=\"c.zip\""), &url),
            "c.zip"
        );
        assert_eq!(
            file_name(
                Some("attachment; filename=\"x\"; filename*=UTF-8''%C3%A9t%C3%A9.txt"),
                &url
            ),
            "été.txt"
        );
        assert_eq!(
            file_name(Some("attachment; filename=\"../../$evil.sh\""), &url),
            "_evil.sh"
        );
        assert_eq!(
            file_name(None, &Url::parse("https://example.com/").unwrap()),
            "download"
        );
        for escaping in ["attachment; filename=\"..\"", "attachment; filename=\".\""] {
            assert_eq!(file_name(Some(escaping), &url), "download");
        }
        assert_eq!(
            file_name(
                Some("attachment; filename*=UTF-8''exe%E2%80%AEfdp.pdf"),
                &url
            ),
            "exe_fdp.pdf"
        );
    }
}
