//! Every endpoint through the SDK, against the real server on loopback, and every error kind.

use crate::common;

use common::{client_for, data, in_process, server};
use onefichier_client::protocol::file::{ChattrRequest, CpRequest, MvRequest, RenameItem, RmFile};
use onefichier_client::protocol::folder::ShareRequest;
use onefichier_client::protocol::ftp::UserAddRequest;
use onefichier_client::protocol::lenient::Flag;
use onefichier_client::protocol::public::LinkStatus;
use onefichier_client::protocol::remote::RequestRequest;
use onefichier_client::protocol::user::{InfoRequest, Offer};
use onefichier_client::{DownloadOptions, ErrorKind, NoProgress, UploadOptions};
use std::sync::Arc;

#[tokio::test]
async fn every_endpoint() {
    // On a socket: the remote upload below fetches a direct URL of this same server.
    let (server, _key, client) = server(&[
        "--remote-allow-host",
        "127.0.0.1",
        // Links as the live service prints them, on the file's domain.
        "--site-host",
        "1fichier.com",
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();

    let info = client.user_info().await.unwrap();
    assert_eq!(info.email, "user@example.com");
    assert_eq!(info.offer, Offer::Premium);
    let set = client
        .set_user_info(&InfoRequest {
            default_domain: Some(2),
            ..InfoRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(set.default_domain, 2);

    let deep = client.mkdir_p("/backups/2026/nov").await.unwrap();
    assert_eq!(
        client.resolve_folder("/backups/2026/nov/").await.unwrap(),
        deep
    );
    assert_eq!(
        client.mkdir_p("/backups/2026/nov").await.unwrap(),
        deep,
        "mkdir -p is idempotent"
    );
    let missing = client.resolve_folder("/backups/1999").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let path = dir.path().join("report été.txt");
    std::fs::write(&path, b"quarterly numbers").unwrap();
    let up = client
        .upload_file(
            &path,
            &UploadOptions::into_folder(deep),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(
        up.link.starts_with("https://cjoint.net/?"),
        "default domain 2: {}",
        up.link
    );
    let listing = client.list_folder(deep).await.unwrap();
    assert_eq!(
        listing.items.as_ref().unwrap()[0].filename,
        "report été.txt"
    );
    let files = client
        .file_ls(&onefichier_client::protocol::file::LsRequest {
            folder_id: Some(deep),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(files.count, 1);
    let details = client.file_info(&up.link, None).await.unwrap();
    assert_eq!(details.path, "backups/2026/nov");
    assert_eq!(details.checksum, up.whirlpool);

    client
        .file_rename(&[RenameItem {
            url: up.link.clone(),
            filename: "report.txt".into(),
        }])
        .await
        .unwrap();
    let same = client
        .file_rename(&[RenameItem {
            url: up.link.clone(),
            filename: "report.txt".into(),
        }])
        .await
        .unwrap_err();
    assert_eq!(same.kind(), ErrorKind::NothingChanged);
    let backups = client.resolve_folder("/backups").await.unwrap();
    client
        .file_mv(&MvRequest {
            urls: vec![up.link.clone()],
            destination_folder_id: Some(backups),
            ..Default::default()
        })
        .await
        .unwrap();
    let copy = client
        .file_cp(&CpRequest {
            urls: vec![up.link.clone()],
            folder_id: Some(deep),
            rename: Some("copy.txt".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let copy_link = copy.urls[0].to_url.clone();
    client
        .file_chattr(&ChattrRequest {
            urls: vec![copy_link.clone()],
            description: Some("a copy".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(client.file_scan(&copy_link).await.is_ok());

    let shared = client
        .folder_share(&ShareRequest {
            folder_id: Some(deep),
            share: Some(Flag(true)),
            ..Default::default()
        })
        .await
        .unwrap();
    let entries = client
        .shared_folder(&shared.url.unwrap(), None)
        .await
        .unwrap();
    assert_eq!(entries[0].filename, "copy.txt");
    let checks = client
        .check_links(&[
            copy_link.clone(),
            "https://1fichier.com/?zzzzzzzzzzzzzzzzzzzz".into(),
        ])
        .await
        .unwrap();
    assert!(matches!(
        checks[0].status,
        LinkStatus::Found { size: 17, .. }
    ));
    assert_eq!(checks[1].status, LinkStatus::NotFound);

    let got = client
        .download_file(
            &copy_link,
            &dir.path().join("got.txt"),
            &DownloadOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(got.verified);
    assert_eq!(
        std::fs::read(dir.path().join("got.txt")).unwrap(),
        b"quarterly numbers"
    );

    // Remote upload from a direct URL of the same server (allowed with --remote-allow-host).
    let direct = client
        .download_token(&onefichier_client::protocol::download::GetTokenRequest {
            url: Some(copy_link.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        !direct.to_string().contains("/dl/"),
        "tokens are redacted when shown"
    );
    let job = client
        .remote_request(&RequestRequest {
            urls: vec![direct.expose().to_owned()],
            folder_id: Some(backups),
            headers: None,
        })
        .await
        .unwrap();
    let mut done = false;
    for _ in 0..100 {
        let info = client.remote_info(job.id).await.unwrap();
        if !info.execution_date.is_empty() {
            assert_eq!(
                info.result[0].status,
                onefichier_client::protocol::Status::Ok
            );
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done);
    assert_eq!(client.remote_ls().await.unwrap().data.len(), 1);

    client
        .ftp_user_add(&UserAddRequest {
            user: "camera".into(),
            pass: "secret1".into(),
            folder_id: Some(deep),
        })
        .await
        .unwrap();
    assert_eq!(client.ftp_users().await.unwrap().items[0].user, "camera");
    client.ftp_process().await.unwrap();
    client.ftp_user_rm("camera").await.unwrap();

    let code = server
        .create_voucher("user@example.com", "gold-30d")
        .unwrap();
    assert_eq!(client.vouchers().await.unwrap().count, 1);
    assert_eq!(
        client
            .voucher_check(&code)
            .await
            .unwrap()
            .service
            .as_deref(),
        Some("gold-30d")
    );
    server
        .admin(&[
            "account",
            "create",
            "--email",
            "friend@example.com",
            "--offer",
            "free",
        ])
        .unwrap();
    client
        .voucher_use(&code, "friend@example.com")
        .await
        .unwrap();

    client
        .file_rm(&[
            RmFile {
                url: copy_link,
                code: None,
            },
            RmFile {
                url: up.link,
                code: None,
            },
        ])
        .await
        .unwrap();
    let nov = client.list_folder(deep).await.unwrap();
    assert!(nov.items.unwrap().is_empty());
    client.folder_rm(deep).await.unwrap();
    let mv = client
        .folder_mv(&onefichier_client::protocol::folder::MvRequest {
            folder_id: Some(backups),
            rename: Some("archive".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mv.new_name, "archive");
    assert!(client.resolve_folder("/archive/2026").await.is_ok());

    // Anonymous upload: no key needed.
    let anonymous = client_for(&server.api_url(), None);
    let anon = anonymous
        .upload_file(&path, &UploadOptions::default(), Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(anon.remove_code.is_some());
    let no_key = anonymous.user_info().await.unwrap_err();
    assert_eq!(no_key.kind(), ErrorKind::InvalidKey);
}

#[tokio::test]
async fn every_error_kind_from_the_server() {
    let (server, key, client) = server(&["--max-file-size", "1000"]).await;
    let restricted = server
        .admin(&[
            "key",
            "create",
            "--email",
            "user@example.com",
            "--label",
            "far",
            "--allow-ip",
            "192.0.2.0/24",
        ])
        .unwrap();
    let free_key = server
        .account_with_key("free@example.com", "premium")
        .unwrap();
    server
        .admin(&[
            "account",
            "set-offer",
            "--email",
            "free@example.com",
            "--offer",
            "free",
        ])
        .unwrap();
    let url = server.api_url();
    let kind = |error: onefichier_client::Error| (error.kind(), error.hint().is_some());

    let wrong = client_for(&url, Some("0123456789abcdefghijABCDEFGHIJ01"))
        .folder_ls(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(kind(wrong), (ErrorKind::InvalidKey, true));
    let far = client_for(&url, Some(&restricted))
        .folder_ls(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(far.kind(), ErrorKind::IpNotAllowed);
    assert_eq!(far.hint(), Some("check the key's IP allow-list"));
    let free = client_for(&url, Some(&free_key))
        .folder_ls(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(free.kind(), ErrorKind::NotCustomer);
    let missing = client
        .file_info("https://1fichier.com/?zzzzzzzzzzzzzzzzzzzz", None)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(missing.status(), Some(404));
    let bad = client.folder_mkdir("a<b", 0).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::BadRequest);
    client.folder_mkdir("dup", 0).await.unwrap();
    let dup = client.folder_mkdir("dup", 0).await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::Conflict);

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, data(5000, 1)).unwrap();
    let too_large = client
        .upload_file(&big, &UploadOptions::default(), Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(too_large.kind(), ErrorKind::TooLarge);
    assert_eq!(
        too_large.hint(),
        Some("split the file into parts below the limit")
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let refused = client
        .upload_file(&empty, &UploadOptions::default(), Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::BadRequest);

    // Passwords.
    let small = dir.path().join("small");
    std::fs::write(&small, b"secret data").unwrap();
    let up = client
        .upload_file(
            &small,
            &UploadOptions::default().with_password("opensesame"),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    let other_key = server
        .account_with_key("other@example.com", "premium")
        .unwrap();
    let other = client_for(&url, Some(&other_key));
    let locked = other
        .download_file(
            &up.link,
            &dir.path().join("x"),
            &DownloadOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::Password);
    let opened = other
        .download_file(
            &up.link,
            &dir.path().join("x"),
            &DownloadOptions::default().with_password("opensesame"),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(
        !opened.verified,
        "another account's file has no checksum for us"
    );
    assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"secret data");
    drop(key);
}

#[tokio::test]
async fn a_folder_over_the_listing_cap_is_listed_whole() {
    // Listings stop at 5 files here (5,000 on the live service).
    let (_server, client) = in_process(|config| config.limits.max_listing = Some(5)).await;
    let folder = client.mkdir_p("/many").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    // Three groups sent a second apart: files of one second cannot be told apart by date.
    for group in 0..3 {
        if group > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let mut paths = Vec::new();
        for i in 0..4 {
            let name = format!("file-{group}-{i}.txt");
            let path = dir.path().join(&name);
            std::fs::write(&path, format!("{group}/{i}")).unwrap();
            paths.push(path);
            names.push(name);
        }
        let sent = client
            .upload_files(
                &paths,
                &UploadOptions::into_folder(folder),
                Arc::new(NoProgress),
            )
            .await;
        assert!(sent.iter().all(Result::is_ok), "{sent:?}");
    }
    let capped = client
        .file_ls(&onefichier_client::protocol::file::LsRequest {
            folder_id: Some(folder),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(capped.items.len(), 5, "the cap is real");
    let listing = client.list_folder(folder).await.unwrap();
    assert_eq!(listing.files, 12);
    let mut listed: Vec<String> = listing
        .items
        .unwrap()
        .into_iter()
        .map(|item| item.filename)
        .collect();
    listed.sort();
    names.sort();
    assert_eq!(listed, names);
}
