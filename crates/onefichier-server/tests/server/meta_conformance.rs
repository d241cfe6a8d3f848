//! One conformance suite for [`MetaRepo`], written once to run against every backend (SQLite
//! and PostgreSQL, a database of its own on the server `.ci/run` starts): each repository method, ordering, two writers at once, the quota, the listing
//! generation, the website's sessions and second factor. The binary tests reach these only
//! through HTTP; here each promise of the trait is checked directly.

use onefichier_protocol::user::Offer;
use onefichier_server::meta::{
    Acl, Admission, DownloadToken, FileRecord, GroupShare, IpRestriction, KeyEvent, KeyEventKind,
    KeyScope, Lease, MetaError, MetaRepo, NewBlob, NewKey, PostgresRepo, RemoteJob, SentBetween,
    SqliteRepo, WebSession,
};
use onefichier_test_support::postgres::TestDatabase;
use std::sync::Arc;

const NOW: i64 = 1_800_000_000;

fn digest(n: u8) -> [u8; 32] {
    [n; 32]
}

fn new_key(account_id: i64, label: &str, n: u8) -> NewKey {
    NewKey {
        account_id,
        label: label.to_owned(),
        digest: digest(n),
        prefix: format!("pre{n}"),
        allow_ips: vec![],
        created_at: NOW,
        scope: KeyScope::Full,
        folder_id: None,
        expires_at: None,
    }
}

fn file(account_id: i64, folder_id: i64, name: &str, blob: &str, size: i64, at: i64) -> FileRecord {
    FileRecord {
        id: 0,
        link_id: format!("link{name}{at}").replace(['.', ' '], ""),
        account_id: Some(account_id),
        folder_id,
        name: name.to_owned(),
        size,
        whirlpool: "0".repeat(128),
        content_type: "application/octet-stream".to_owned(),
        created_at: at,
        description: String::new(),
        pass_hash: None,
        no_ssl: false,
        inline: false,
        cdn: false,
        acl: Acl::default(),
        domain: 0,
        remove_code: None,
        blob_id: Some(blob.to_owned()),
    }
}

fn blob(id: &str, size: i64) -> NewBlob {
    NewBlob {
        id: id.to_owned(),
        size,
        whirlpool: "0".repeat(128),
    }
}

async fn accounts_and_keys(repo: &dyn MetaRepo) {
    let alice = repo
        .create_account("Alice@Example.com", Offer::Premium, NOW)
        .await
        .unwrap();
    assert!(matches!(
        repo.create_account("alice@example.com", Offer::Gold, NOW)
            .await,
        Err(MetaError::Conflict)
    ));
    let found = repo
        .account_by_email("ALICE@example.COM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice.id, "e-mails match whatever their case");
    let bob = repo
        .create_account("bob@example.com", Offer::Free, NOW)
        .await
        .unwrap();
    let ids: Vec<i64> = repo
        .accounts()
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, [alice.id, bob.id], "oldest first");
    let mut settings = alice.settings.clone();
    settings.page_limit = 77;
    settings.use_cdn = true;
    repo.update_settings(alice.id, &settings).await.unwrap();
    repo.update_offer(bob.id, Offer::Access, Some(NOW + 10))
        .await
        .unwrap();
    let bob = repo.account(bob.id).await.unwrap().unwrap();
    assert_eq!(
        (bob.offer, bob.subscription_end),
        (Offer::Access, Some(NOW + 10))
    );
    assert_eq!(
        repo.account(alice.id).await.unwrap().unwrap().settings,
        settings
    );

    // Keys: labels unique among live keys, found by digest, ordered by label.
    let b = repo
        .insert_key(new_key(alice.id, "b-laptop", 1))
        .await
        .unwrap();
    let a = repo
        .insert_key(new_key(alice.id, "a-server", 2))
        .await
        .unwrap();
    assert!(matches!(
        repo.insert_key(new_key(alice.id, "a-server", 3)).await,
        Err(MetaError::Conflict)
    ));
    let labels: Vec<String> = repo
        .keys(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.label)
        .collect();
    assert_eq!(labels, ["a-server", "b-laptop"]);
    let (key, stored) = repo.key_by_digest(&digest(1)).await.unwrap().unwrap();
    assert_eq!((key.id, stored), (b.id, digest(1)));
    assert!(
        repo.key(bob.id, b.id).await.unwrap().is_none(),
        "another account's key"
    );
    repo.touch_key(b.id, NOW + 5, "203.0.113.9").await.unwrap();
    let touched = repo.key(alice.id, b.id).await.unwrap().unwrap();
    assert_eq!(
        (touched.last_used_at, touched.last_used_ip.as_deref()),
        (Some(NOW + 5), Some("203.0.113.9"))
    );
    assert!(
        repo.note_key_address(b.id, "203.0.113.9", NOW)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .note_key_address(b.id, "203.0.113.9", NOW + 1)
            .await
            .unwrap()
    );
    assert!(
        repo.note_key_address(b.id, "2001:db8::1", NOW)
            .await
            .unwrap()
    );

    // Rename and allow-list, rotation, expiry, revocation.
    let nets = vec!["10.0.0.0/8".parse().unwrap()];
    assert!(
        repo.update_key(alice.id, b.id, "laptop", &nets)
            .await
            .unwrap()
    );
    assert!(matches!(
        repo.update_key(alice.id, b.id, "a-server", &nets).await,
        Err(MetaError::Conflict)
    ));
    let rotated = repo
        .rotate_key(alice.id, "laptop", digest(9), "new9", NOW + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rotated.allow_ips, rotated.rotated_at),
        (nets, Some(NOW + 6))
    );
    assert!(
        repo.key_by_digest(&digest(1)).await.unwrap().is_none(),
        "the old secret is gone"
    );
    assert!(
        repo.set_key_expiry(alice.id, "laptop", Some(NOW + 100))
            .await
            .unwrap()
    );
    assert_eq!(
        repo.key(alice.id, b.id).await.unwrap().unwrap().expires_at,
        Some(NOW + 100)
    );
    assert!(repo.revoke_key(alice.id, "a-server", NOW).await.unwrap());
    assert!(!repo.revoke_key(alice.id, "a-server", NOW).await.unwrap());
    assert!(repo.key_by_digest(&digest(2)).await.unwrap().is_none());
    assert!(repo.key(alice.id, a.id).await.unwrap().is_none());
    repo.insert_key(new_key(alice.id, "a-server", 4))
        .await
        .expect("a revoked key's label is free again");

    // Scoped keys keep their scope, folder and expiry.
    let scoped = repo
        .insert_key(NewKey {
            scope: KeyScope::Upload,
            folder_id: Some(42),
            expires_at: Some(NOW + 60),
            ..new_key(alice.id, "backup", 5)
        })
        .await
        .unwrap();
    assert_eq!(
        (scoped.scope, scoped.folder_id, scoped.expires_at),
        (KeyScope::Upload, Some(42), Some(NOW + 60))
    );

    // The history, newest first, limited.
    let kinds = [
        KeyEventKind::Created,
        KeyEventKind::Rotated,
        KeyEventKind::Revoked,
    ];
    for (n, event) in kinds.into_iter().enumerate() {
        repo.insert_key_event(&KeyEvent {
            account_id: alice.id,
            key_id: Some(b.id),
            label: "laptop".to_owned(),
            event,
            detail: String::new(),
            ip: None,
            at: NOW + n as i64,
        })
        .await
        .unwrap();
    }
    let events: Vec<&str> = repo
        .key_events(alice.id, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(events, ["revoked", "rotated"]);
    assert!(repo.key_events(bob.id, 10).await.unwrap().is_empty());
}

async fn folders_files_and_quota(repo: Arc<dyn MetaRepo>) {
    let carol = repo
        .create_account("carol@example.com", Offer::Premium, NOW)
        .await
        .unwrap();
    let id = carol.id;
    let top = repo.insert_folder(id, 0, "top", NOW).await.unwrap();
    let mid = repo.insert_folder(id, top.id, "mid", NOW).await.unwrap();
    let low = repo.insert_folder(id, mid.id, "low", NOW).await.unwrap();
    let side = repo.insert_folder(id, 0, "side", NOW).await.unwrap();
    assert!(matches!(
        repo.insert_folder(id, 0, "top", NOW).await,
        Err(MetaError::Conflict)
    ));
    let names: Vec<String> = repo
        .sub_folders(id, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["side", "top"], "by name");
    assert!(repo.folder_within(id, low.id, top.id).await.unwrap());
    assert!(repo.folder_within(id, low.id, low.id).await.unwrap());
    assert!(repo.folder_within(id, side.id, 0).await.unwrap());
    assert!(!repo.folder_within(id, side.id, top.id).await.unwrap());
    assert!(
        !repo.folder_within(id, top.id, low.id).await.unwrap(),
        "an ancestor is not within"
    );
    repo.move_folder(id, low.id, side.id, "moved")
        .await
        .unwrap();
    assert!(repo.folder_within(id, low.id, side.id).await.unwrap());
    assert!(matches!(
        repo.move_folder(id, low.id, 0, "top").await,
        Err(MetaError::Conflict)
    ));
    repo.set_public_share(id, side.id, Some("SHARE1"), Some("hash"))
        .await
        .unwrap();
    assert_eq!(
        repo.folder_by_share_id("SHARE1").await.unwrap().unwrap().id,
        side.id
    );
    let shares = vec![GroupShare {
        email: "x@example.com".into(),
        rw: true,
        hide_links: false,
    }];
    repo.set_group_shares(side.id, &shares).await.unwrap();
    assert_eq!(repo.group_shares(side.id).await.unwrap(), shares);
    repo.set_group_shares(side.id, &[]).await.unwrap();
    assert!(repo.group_shares(side.id).await.unwrap().is_empty());

    // Files: every change to what listings show moves the generation, in the same step.
    let g0 = repo.listing_generation(id).await.unwrap();
    let stored = repo
        .insert_upload(
            &[
                blob("blobone0000000000001", 100),
                blob("blobtwo0000000000002", 50),
            ],
            &[
                file(id, top.id, "b.bin", "blobone0000000000001", 100, NOW + 2),
                file(id, top.id, "a.bin", "blobtwo0000000000002", 50, NOW + 1),
                file(id, top.id, "copy.bin", "blobone0000000000001", 100, NOW + 3),
            ],
            Some((id, 1_000)),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    let g1 = repo.listing_generation(id).await.unwrap();
    assert!(g1 > g0);
    let listed: Vec<String> = repo
        .listed_files(id, Some(top.id), SentBetween::default(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(listed, ["a.bin", "b.bin", "copy.bin"], "oldest first");
    assert_eq!(
        repo.listed_files(id, Some(top.id), SentBetween::default(), 2)
            .await
            .unwrap()
            .len(),
        2
    );
    let between = SentBetween {
        before: Some(NOW + 3),
        after: Some(NOW + 1),
    };
    assert_eq!(
        repo.listed_files(id, Some(top.id), between, 10)
            .await
            .unwrap()[0]
            .name,
        "b.bin"
    );
    assert_eq!(
        repo.listed_files(id, None, SentBetween::default(), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(repo.folder_usage(id, top.id).await.unwrap(), (3, 250));
    assert_eq!(repo.storage_used(id).await.unwrap(), 250);
    assert_eq!(
        repo.stored_bytes().await.unwrap(),
        150,
        "a copy shares its blob"
    );
    let blobs: Vec<(String, i64)> = repo
        .blobs()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.id, b.size))
        .collect();
    assert_eq!(
        blobs,
        [
            ("blobone0000000000001".to_owned(), 100),
            ("blobtwo0000000000002".to_owned(), 50)
        ]
    );

    let mut renamed = repo
        .file_by_link(&stored[0].link_id)
        .await
        .unwrap()
        .unwrap();
    renamed.name = "renamed.bin".to_owned();
    repo.update_file(&renamed).await.unwrap();
    assert!(repo.listing_generation(id).await.unwrap() > g1);
    let g2 = repo.listing_generation(id).await.unwrap();
    repo.mark_scanned(renamed.id, NOW).await.unwrap();
    assert_eq!(repo.scanned_at(renamed.id).await.unwrap(), Some(NOW));
    assert_eq!(
        repo.listing_generation(id).await.unwrap(),
        g2,
        "a scan changes no listing"
    );

    // Deleting frees a blob only with its last file.
    assert!(
        repo.delete_files(&[stored[0].id]).await.unwrap().is_empty(),
        "the copy still uses it"
    );
    assert_eq!(
        repo.delete_files(&[stored[2].id]).await.unwrap(),
        ["blobone0000000000001"]
    );
    assert!(!repo.blob_known("blobone0000000000001").await.unwrap());
    assert!(repo.blob_known("blobtwo0000000000002").await.unwrap());

    // The quota: refused as a whole, and two writers at once cannot pass it together.
    let over = repo
        .insert_upload(
            &[blob("blobbig0000000000003", 2_000)],
            &[file(id, 0, "big.bin", "blobbig0000000000003", 2_000, NOW)],
            Some((id, 1_000)),
        )
        .await;
    assert!(matches!(over, Err(MetaError::QuotaExceeded)));
    assert!(
        !repo.blob_known("blobbig0000000000003").await.unwrap(),
        "nothing of it stored"
    );
    let writer = |n: u8| {
        let repo = Arc::clone(&repo);
        async move {
            let blob_id = format!("blobrace{n:012}");
            repo.insert_upload(
                &[blob(&blob_id, 600)],
                &[file(
                    id,
                    0,
                    &format!("race{n}.bin"),
                    &blob_id,
                    600,
                    NOW + i64::from(n),
                )],
                Some((id, 1_000)),
            )
            .await
        }
    };
    let (x, y) = tokio::join!(tokio::spawn(writer(1)), tokio::spawn(writer(2)));
    let passed = [x.unwrap(), y.unwrap()]
        .iter()
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(passed, 1, "50 + 600 + 600 > 1,000: one of the two fits");
    assert!(repo.storage_used(id).await.unwrap() <= 1_000);

    // A folder with files is not removed from under them; an empty one is.
    repo.delete_folder(id, mid.id).await.unwrap();
    assert!(repo.folder(id, mid.id).await.unwrap().is_none());
}

async fn transfers_jobs_and_the_rest(repo: &dyn MetaRepo) {
    let dave = repo
        .create_account("dave@example.com", Offer::Premium, NOW)
        .await
        .unwrap();
    let id = dave.id;
    // Upload ids: single use, and only while fresh.
    repo.create_upload_session("ABCDEFGHIJ", NOW).await.unwrap();
    assert!(
        !repo
            .claim_upload_session("ABCDEFGHIJ", NOW + 1, NOW + 2)
            .await
            .unwrap(),
        "stale"
    );
    assert!(
        repo.claim_upload_session("ABCDEFGHIJ", NOW - 1, NOW + 2)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .claim_upload_session("ABCDEFGHIJ", NOW - 1, NOW + 3)
            .await
            .unwrap(),
        "used"
    );
    repo.store_upload_report("ABCDEFGHIJ", "{}", NOW + 100)
        .await
        .unwrap();
    assert_eq!(
        repo.upload_report("ABCDEFGHIJ", NOW + 50)
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
    assert!(
        repo.upload_report("ABCDEFGHIJ", NOW + 101)
            .await
            .unwrap()
            .is_none()
    );

    // Download tokens end with the key that asked for them.
    let key = repo.insert_key(new_key(id, "dl", 20)).await.unwrap();
    let stored = repo
        .insert_upload(
            &[blob("blobdave000000000001", 10)],
            &[file(id, 0, "d.bin", "blobdave000000000001", 10, NOW)],
            None,
        )
        .await
        .unwrap();
    let token = DownloadToken {
        token: "T".repeat(32),
        file_id: stored[0].id,
        created_at: NOW,
        first_used_at: None,
        inline: false,
        single: true,
        restrict_ip: IpRestriction::BoundToFirst,
        bound_ip: None,
        issuer: Some((key.id, digest(20))),
    };
    repo.insert_token(&token).await.unwrap();
    let (found, found_file) = repo.token(&token.token, NOW).await.unwrap().unwrap();
    assert_eq!((found.single, found_file.id), (true, stored[0].id));
    repo.start_token(&token.token, NOW + 1, "198.51.100.1")
        .await
        .unwrap();
    let (started, _) = repo.token(&token.token, NOW).await.unwrap().unwrap();
    assert_eq!(
        (started.first_used_at, started.bound_ip.as_deref()),
        (Some(NOW + 1), Some("198.51.100.1"))
    );
    // A key that expires ends its tokens from then on.
    assert!(repo.set_key_expiry(id, "dl", Some(NOW + 10)).await.unwrap());
    assert!(repo.token(&token.token, NOW + 9).await.unwrap().is_some());
    assert!(
        repo.token(&token.token, NOW + 10).await.unwrap().is_none(),
        "the key expired"
    );
    assert!(repo.set_key_expiry(id, "dl", None).await.unwrap());
    repo.rotate_key(id, "dl", digest(21), "x", NOW)
        .await
        .unwrap();
    assert!(
        repo.token(&token.token, NOW).await.unwrap().is_none(),
        "the key was rotated"
    );

    // Remote jobs: newest first, claimed by one process at a time, taken over when a claim runs
    // out, unfinished until executed.
    let job = |urls: &[&str]| RemoteJob {
        id: 0,
        account_id: id,
        folder_id: 0,
        urls: urls.iter().map(|u| (*u).to_owned()).collect(),
        headers: "{}".to_owned(),
        request_date: NOW,
        execution_date: None,
        result: "[]".to_owned(),
    };
    let a = Lease {
        owner: "process-a",
        until: NOW + 60,
    };
    let b = Lease {
        owner: "process-b",
        until: NOW + 60,
    };
    let first = repo
        .insert_remote_job(&job(&["http://a/1"]), &a)
        .await
        .unwrap();
    let second = repo
        .insert_remote_job(&job(&["http://a/2", "http://a/3"]), &a)
        .await
        .unwrap();
    let ids: Vec<i64> = repo
        .remote_jobs(id)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, [second.id, first.id]);
    assert!(
        repo.claim_remote_jobs(&b, NOW + 30)
            .await
            .unwrap()
            .is_empty(),
        "a live claim is respected"
    );
    assert!(
        !repo
            .update_remote_job(first.id, &b, None, "[0]")
            .await
            .unwrap()
    );
    assert!(!repo.renew_remote_job(first.id, &b).await.unwrap());
    assert!(
        repo.update_remote_job(first.id, &a, Some(NOW + 9), "[1]")
            .await
            .unwrap()
    );
    assert_eq!(
        repo.remote_job(id, first.id).await.unwrap().unwrap().result,
        "[1]"
    );
    // Process a stops renewing; once its claim ran out, b takes the unfinished job (alone,
    // even when both ask at once), and a can no longer write to it.
    let later = Lease {
        owner: "process-b",
        until: NOW + 200,
    };
    let other = Lease {
        owner: "process-c",
        until: NOW + 200,
    };
    let (by_b, by_c) = tokio::join!(
        repo.claim_remote_jobs(&later, NOW + 100),
        repo.claim_remote_jobs(&other, NOW + 100)
    );
    let (by_b, by_c) = (by_b.unwrap(), by_c.unwrap());
    let taken: Vec<i64> = by_b.iter().chain(&by_c).map(|j| j.id).collect();
    assert_eq!(taken, [second.id], "one process takes the job");
    let winner = if by_b.is_empty() { &other } else { &later };
    assert!(!repo.renew_remote_job(second.id, &a).await.unwrap());
    assert!(
        !repo
            .update_remote_job(second.id, &a, None, "[2]")
            .await
            .unwrap()
    );
    assert!(repo.renew_remote_job(second.id, winner).await.unwrap());

    // Vouchers are used once.
    repo.insert_voucher("VOUCHER1", "premium-30d", id)
        .await
        .unwrap();
    assert_eq!(repo.unused_vouchers(id).await.unwrap().len(), 1);
    assert!(repo.mark_voucher_used("VOUCHER1", id, NOW).await.unwrap());
    assert!(!repo.mark_voucher_used("VOUCHER1", id, NOW).await.unwrap());
    assert_eq!(
        repo.voucher("VOUCHER1").await.unwrap().unwrap().used_by,
        Some(id)
    );

    // FTP users.
    repo.insert_ftp_user(id, "cam", "hash", 0, NOW)
        .await
        .unwrap();
    assert!(matches!(
        repo.insert_ftp_user(id, "cam", "hash", 0, NOW).await,
        Err(MetaError::Conflict)
    ));
    assert_eq!(repo.ftp_users(id).await.unwrap()[0].user, "cam");
    assert!(repo.delete_ftp_user(id, "cam").await.unwrap());
    assert!(!repo.delete_ftp_user(id, "cam").await.unwrap());
    repo.request_ftp_process(id, NOW).await.unwrap();
}

async fn the_website(repo: &dyn MetaRepo) {
    let open = repo
        .create_web_account("erin@example.com", "phc", Admission::Open(Offer::Gold), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.offer, Offer::Gold);
    assert_eq!(
        repo.credentials(open.id)
            .await
            .unwrap()
            .password_hash
            .as_deref(),
        Some("phc")
    );
    assert!(matches!(
        repo.create_web_account("ERIN@example.com", "phc", Admission::Open(Offer::Gold), NOW)
            .await,
        Err(MetaError::Conflict)
    ));
    // Invitations: once each, before they expire.
    repo.insert_invitation(&digest(30), Offer::Access, NOW, NOW + 10)
        .await
        .unwrap();
    repo.insert_invitation(&digest(31), Offer::Access, NOW, NOW + 10)
        .await
        .unwrap();
    let invited = repo
        .create_web_account(
            "f@example.com",
            "phc",
            Admission::Invitation(&digest(30)),
            NOW,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(invited.offer, Offer::Access);
    assert!(
        repo.create_web_account(
            "g@example.com",
            "phc",
            Admission::Invitation(&digest(30)),
            NOW
        )
        .await
        .unwrap()
        .is_none()
    );
    assert!(
        repo.create_web_account(
            "g@example.com",
            "phc",
            Admission::Invitation(&digest(31)),
            NOW + 11
        )
        .await
        .unwrap()
        .is_none(),
        "expired"
    );
    assert!(
        repo.account_by_email("g@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // Password, second factor (a step once), recovery codes (each once).
    repo.set_password(open.id, "phc2").await.unwrap();
    repo.set_totp(open.id, Some("SECRET"), true).await.unwrap();
    let credentials = repo.credentials(open.id).await.unwrap();
    assert_eq!(
        (
            credentials.password_hash.as_deref(),
            credentials.totp_secret.as_deref(),
            credentials.totp_enabled
        ),
        (Some("phc2"), Some("SECRET"), true)
    );
    assert_eq!(
        repo.account(open.id)
            .await
            .unwrap()
            .unwrap()
            .settings
            .two_factor,
        2
    );
    assert!(repo.use_totp_step(open.id, 100).await.unwrap());
    assert!(!repo.use_totp_step(open.id, 100).await.unwrap());
    assert!(!repo.use_totp_step(open.id, 99).await.unwrap());
    assert!(repo.use_totp_step(open.id, 101).await.unwrap());
    repo.set_recovery_codes(open.id, &[digest(40), digest(41)])
        .await
        .unwrap();
    assert!(
        repo.use_recovery_code(open.id, &digest(40), NOW)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .use_recovery_code(open.id, &digest(40), NOW)
            .await
            .unwrap()
    );
    assert_eq!(repo.recovery_codes_left(open.id).await.unwrap(), 1);

    // Sessions: live within their limits, ended one by one, all but one, or when stale.
    let session = |n: u8, created_at: i64| WebSession {
        digest: digest(n),
        account_id: open.id,
        csrf: format!("csrf{n}"),
        created_at,
        seen_at: created_at,
        ip: "127.0.0.1".to_owned(),
        pending_totp: true,
        proved_at: created_at,
    };
    for (n, at) in [(50, NOW), (51, NOW), (52, NOW - 1_000)] {
        repo.insert_session(&session(n, at)).await.unwrap();
    }
    let found = repo
        .session(&digest(50), NOW + 5, NOW - 100, NOW - 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.csrf.as_str(), found.seen_at, found.pending_totp),
        ("csrf50", NOW + 5, true)
    );
    assert_eq!(found.proved_at, NOW);
    repo.complete_session(&digest(50)).await.unwrap();
    repo.prove_session(&digest(50), NOW + 6).await.unwrap();
    let completed = repo
        .session(&digest(50), NOW + 6, NOW - 100, NOW - 100)
        .await
        .unwrap()
        .unwrap();
    assert!(!completed.pending_totp);
    assert_eq!(completed.proved_at, NOW + 6, "proved again");
    assert!(
        repo.session(&digest(52), NOW, NOW - 100, NOW - 100)
            .await
            .unwrap()
            .is_none(),
        "too old"
    );
    assert_eq!(
        repo.delete_stale_sessions(NOW - 100, NOW - 100)
            .await
            .unwrap(),
        1
    );
    repo.delete_other_sessions(open.id, &digest(50))
        .await
        .unwrap();
    assert!(
        repo.session(&digest(51), NOW, 0, 0)
            .await
            .unwrap()
            .is_none()
    );
    repo.delete_session(&digest(50)).await.unwrap();
    assert!(
        repo.session(&digest(50), NOW, 0, 0)
            .await
            .unwrap()
            .is_none()
    );
}

/// Every part, on a fresh repository.
async fn suite(repo: Arc<dyn MetaRepo>) {
    repo.ping().await.unwrap();
    accounts_and_keys(repo.as_ref()).await;
    folders_files_and_quota(Arc::clone(&repo)).await;
    transfers_jobs_and_the_rest(repo.as_ref()).await;
    the_website(repo.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let repo: Arc<dyn MetaRepo> = Arc::new(SqliteRepo::open(dir.path()).await.unwrap());
    suite(repo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    let Some(db) = TestDatabase::create_or_skip().unwrap() else {
        return;
    };
    let repo: Arc<dyn MetaRepo> = Arc::new(PostgresRepo::connect(&db.url()).await.unwrap());
    suite(repo).await;
}

#[test]
fn a_postgres_url_without_a_user_connects_as_the_system_user_as_libpq_does() {
    let Some(database) = TestDatabase::create_or_skip().unwrap() else {
        return;
    };
    // postgres:///NAME?host=… : no user, no PGUSER, and neither USER nor LOGNAME set.
    let url = database.url();
    let (_, rest) = url.split_once('@').expect("the test URL names its user");
    let without_user = format!("postgres://{rest}").replace("localhost", "");
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(onefichier_test_support::server_binary())
        .arg("--data")
        .arg(data.path())
        .args([
            "--meta",
            &without_user,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--limits",
            "off",
        ])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("PGUSER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(
        first.starts_with("listening on"),
        "{without_user}: {first}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
