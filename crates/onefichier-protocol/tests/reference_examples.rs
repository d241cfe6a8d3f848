//! Every example payload of `shared/docs/1fichier-api-v1.md` decodes, and encode→decode
//! round-trips.

use onefichier_protocol::lenient::{Flag, StrFlag};
use onefichier_protocol::{
    KoResponse, Status, StatusResponse, download, file, folder, ftp, parse_message, public, remote,
    upload, user, vouchers,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn download_examples() {
    let req: download::GetTokenRequest =
        decode(r#"{"url":"https://1fichier.com/?abc123def456ghi789jk","single":1,"cdn":0}"#);
    assert_eq!(req.single, Some(Flag(true)));
    let ok: download::GetTokenResponse =
        decode(r#"{"status":"OK","url":"https://a-12.1fichier.com/p1234567890"}"#);
    assert_eq!(ok.status, Status::Ok);
    let ko: KoResponse = decode(r#"{"status":"KO","message":"Resource not allowed #631"}"#);
    assert_eq!(ko.status, Status::Ko);
    // Clients such as the C# SDK send null for unset fields.
    let nulls: download::GetTokenRequest =
        decode(r#"{"url":"https://1fichier.com/?abcde","pass":null,"sharing_user":null}"#);
    assert_eq!(nulls.pass, None);
}

#[test]
fn upload_examples() {
    let node: upload::UploadServer = decode(r#"{"url":"up2.1fichier.com","id":"Ab3dE5gH9k"}"#);
    assert_eq!(node.id, "Ab3dE5gH9k");
    let sample: upload::UploadServer =
        decode(r#"{"url":"invalid_node.1fichier.com","id":"example_invalid"}"#);
    assert!(!onefichier_protocol::ids::is_upload_id(&sample.id));
    let report: upload::EndReport = decode(
        r#"{"incoming":0,
   "links":[{"download":"https://1fichier.com/?2zk52quqlm0cbjr93ri5",
             "filename":"test.txt","size":"12","remove":"",
             "whirlpool":"0a894ff0"}]}"#,
    );
    assert_eq!(report.links[0].size, 12);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["links"][0]["size"], "12", "end.pl sizes are strings");
}

#[test]
fn file_examples() {
    let ls: file::LsResponse = decode(
        r#"{"status":"OK","count":1,
   "items":[{"url":"https://1fichier.com/?2zk52quqlm0cbjr93ri5","filename":"test.txt",
             "size":12,"date":"2021-06-22 14:57:25","checksum":"0a89","content-type":"text/plain",
             "pass":0,"acl":0,"cdn":0}]}"#,
    );
    assert_eq!(ls.items[0].content_type, "text/plain");
    let json = serde_json::to_value(&ls).unwrap();
    assert_eq!(json["items"][0]["content-type"], "text/plain");
    assert!(json["items"][0].get("content_type").is_none());

    let info: file::FileInfo = decode(
        r#"{"url":"https://1fichier.com/?example","filename":"Example.dat","size":1234,
   "date":"2024-01-31 12:00:00","folder_id":1234,"path":"ExampleA/ExampleB",
   "checksum":"x","content_type":"mime/type","description":"File description",
   "pass":0,"no_ssl":0,"inline":0,"cdn":0,
   "acl":{"ip":["1.2.3.0/24"],"country":["FR"],"email":["u@example.com"],"premium":1}}"#,
    );
    assert_eq!(info.acl.country, ["FR"]);
    assert!(info.acl.premium.0);
    assert_eq!(info.status, None);
    let hyphen: file::FileInfo = decode(r#"{"content-type":"text/plain","acl":0}"#);
    assert_eq!(hyphen.content_type, "text/plain");

    let scan: file::ScanResponse = decode(r#"{"status":"OK","date":"2025-01-02 10:00:00"}"#);
    assert_eq!(scan.date.as_deref(), Some("2025-01-02 10:00:00"));
    let rm: file::RmRequest = decode(
        r#"{"files":[{"url":"https://1fichier.com/?abc"},{"url":"https://1fichier.com/?def","code":"XYZ"}]}"#,
    );
    assert_eq!(rm.files[1].code.as_deref(), Some("XYZ"));
    let rm: file::RmResponse = decode(
        r#"{"status":"OK","removed":2,"urls":["https://1fichier.com/?abc","https://1fichier.com/?def"]}"#,
    );
    assert_eq!(rm.removed, 2);
    let mv: file::MvRequest = decode(
        r#"{"urls":["https://1fichier.com/?abc"],"destination_folder_id":3361075,"rename":"new.txt"}"#,
    );
    assert_eq!(mv.destination_folder_id, Some(3_361_075));
    let mv: file::MvResponse = decode(
        r#"{"status":"OK","moved":1,"urls":["https://1fichier.com/?abc"],"filename":"new.txt"}"#,
    );
    assert_eq!(mv.filename.as_deref(), Some("new.txt"));
    let rename: file::RenameRequest =
        decode(r#"{"urls":[{"url":"https://1fichier.com/?abc","filename":"b.txt"}],"pretty":0}"#);
    assert_eq!(rename.urls[0].filename, "b.txt");
    let renamed: file::RenameResponse = decode(
        r#"{"status":"OK","renamed":1,"urls":[{"url":"https://1fichier.com/?abc","old_filename":"a.txt","new_filename":"b.txt"}]}"#,
    );
    assert_eq!(renamed.urls[0].old_filename, "a.txt");
    let copied: file::CpResponse = decode(
        r#"{"status":"OK","copied":1,"urls":[{"from_url":"https://1fichier.com/?abc","to_url":"https://1fichier.com/?xyz"}]}"#,
    );
    assert_eq!(copied.urls[0].to_url, "https://1fichier.com/?xyz");
    let chattr: file::ChattrRequest = decode(
        r#"{"urls":["https://1fichier.com/?abc"],"inline":1,"acl":{"country":["FR","BE"],"premium":0}}"#,
    );
    assert_eq!(chattr.acl.unwrap().country, ["FR", "BE"]);
    let cleared: file::ChattrRequest = decode(r#"{"urls":["x"],"acl":""}"#);
    assert!(cleared.acl.unwrap().is_empty());
    let chattr: file::ChattrResponse =
        decode(r#"{"status":"OK","updated":1,"urls":["https://1fichier.com/?abc"]}"#);
    assert_eq!(chattr.updated, 1);
}

#[test]
fn folder_examples() {
    let ls: folder::LsResponse = decode(
        r#"{"folder_id":0,"status":"OK","size":null,"files":0,"name":"Root",
   "sub_folders":[{"id":3357645,"create_date":"2021-03-20 16:42:15","name":"backup.phenix","pass":0},
                  {"id":3361075,"create_date":"2021-03-21 06:00:06","name":"backup.rclone","pass":0}]}"#,
    );
    assert_eq!(ls.size, None);
    assert_eq!(ls.sub_folders[1].id, 3_361_075);
    let json = serde_json::to_value(&ls).unwrap();
    assert_eq!(json["sub_folders"][0]["id"], 3_357_645);
    assert!(json["sub_folders"][0].get("folder_id").is_none());

    let mkdir: folder::MkdirRequest = decode(r#"{"name":"backup","folder_id":0}"#);
    assert_eq!(mkdir.name, "backup");
    let made: folder::MkdirResponse =
        decode(r#"{"status":"OK","folder_id":3361082,"name":"backup"}"#);
    assert_eq!(made.folder_id, 3_361_082);
    let share: folder::ShareRequest = decode(
        r#"{"folder_id":3361075,"share":1,"pass":"secret1","shares":[{"email":"bob@example.com","rw":0,"hide_links":1}]}"#,
    );
    assert!(share.shares.unwrap()[0].hide_links.0);
    let unshare: folder::ShareRequest = decode(r#"{"folder_id":1,"shares":0}"#);
    assert_eq!(unshare.shares, Some(vec![]));
    let shared: folder::ShareResponse =
        decode(r#"{"status":"OK","url":"https://1fichier.com/dir/AbCdEf12"}"#);
    assert!(shared.url.is_some());
    let mv: folder::MvRequest = decode(r#"{"folder_id":3361081,"rename":"archive-2021"}"#);
    assert_eq!(mv.rename.as_deref(), Some("archive-2021"));
    let moved: folder::MvResponse =
        decode(r#"{"status":"OK","old_name":"old","new_name":"archive-2021"}"#);
    assert_eq!(moved.new_name, "archive-2021");
    let rm: folder::RmRequest = decode(r#"{"folder_id":"12"}"#);
    assert_eq!(rm.folder_id, Some(12));
}

#[test]
fn user_examples() {
    let info: user::UserInfo = decode(
        r#"{"status":"OK","email":"user@example.com","offer":"1","2fa":"0","cdn":"0","use_cdn":"0",
   "subscription_end":"2026-12-31 23:59:59","hot_storage":0,"cold_storage":123456789,
   "available_cold_storage":1000000000000,"overquota":0,"upload_forbidden":"0"}"#,
    );
    assert_eq!(info.offer, user::Offer::Premium);
    assert_eq!(info.cold_storage, 123_456_789);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["offer"], "1");
    assert_eq!(json["use_cdn"], "0");
    assert_eq!(json["2fa"], "0");
    // Integers where rclone expects strings, and the reverse, both decode.
    let swapped: user::UserInfo = decode(r#"{"offer":3,"use_cdn":1,"ftp_did":"5"}"#);
    assert_eq!(swapped.offer, user::Offer::Gold);
    assert_eq!(swapped.use_cdn, StrFlag(true));
    assert_eq!(swapped.ftp_did, 5);
    let set: user::InfoRequest = decode(r#"{"default_domain":3,"use_cdn":"1","pretty":1}"#);
    assert_eq!(set.default_domain, Some(3));
    assert!(!set.is_show());
    assert!(decode::<user::InfoRequest>("{}").is_show());
}

#[test]
fn remote_ftp_voucher_examples() {
    let ls: remote::LsResponse = decode(
        r#"{"status":"OK","data":[{"id":123,"request_date":"2025-03-01 10:00:00","execution_date":""}]}"#,
    );
    assert_eq!(ls.data[0].id, 123);
    let info: remote::InfoRequest = decode(r#"{"id":"123"}"#);
    assert_eq!(info.id, Some(123));
    let request: remote::RequestRequest = decode(
        r#"{"urls":["https://example.com/a.iso"],"folder_id":0,"headers":{"Cookie":"sid=1"}}"#,
    );
    assert_eq!(request.headers.unwrap()["Cookie"], "sid=1");
    let accepted: remote::RequestResponse = decode(
        r#"{"status":"OK","id":98765,"date":"2025-03-01 10:00:00","urls":["https://example.com/a.iso"],"headers":{"Cookie":"sid=1"}}"#,
    );
    assert_eq!(accepted.id, 98_765);
    let add: ftp::UserAddRequest = decode(r#"{"user":"cam","pass":"secret","folder_id":3}"#);
    assert_eq!(add.folder_id, Some(3));
    let users: ftp::UsersLsResponse = decode(r#"{"status":"OK","data":[{"user":"cam"}]}"#);
    assert_eq!(users.items[0].user, "cam");
    let vouchers: vouchers::LsResponse = decode(
        r#"{"status":"OK","count":1,"data":[{"voucher":"0123456789abcdef0123456789abcdef","service":"premium"}]}"#,
    );
    assert_eq!(vouchers.count, 1);
    let done: StatusResponse = decode(r#"{"status":"KO","message":"Voucher not valid #490"}"#);
    assert_eq!(done.status, Status::Ko);
}

#[test]
fn public_examples() {
    let listing: Vec<public::DirEntry> = decode(
        r#"[{"filename":"a.part1.rar","link":"https://1fichier.com/?aaaaa11111","size":100,"password":0,"acl":0}]"#,
    );
    assert_eq!(listing[0].size, 100);
}

#[test]
fn error_examples_from_the_reference() {
    for message in [
        "Content-Type not JSON #24",
        "Flood detected: IP Locked #38",
        "Flood detected: IP Locked #374",
        "Flood detected: User Locked #1",
        "No such user #93",
        "No such user #142",
        "Not authenticated #5",
        "Must be a customer (Premium, Access) #200",
        "Must be a customer (Premium, Access) #236",
        "Resource not found #469",
        "Resource not allowed #631",
        "Password not provided. Please give it. Resource not allowed #631",
        "Owner locked #620",
        "Owner locked #649",
        "Only 2 locations allowed at a time #40",
        "You use professional equipment, must have CDN #1",
        "No file has been renamed #312",
    ] {
        assert!(parse_message(message).code.is_some(), "{message}");
    }
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "{json}");
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é._-]{0,24}"
}

prop_compose! {
    fn file_item()(url in text(), filename in text(), size in any::<u64>(), date in text(),
                   checksum in "[0-9a-f]{0,128}", content_type in text(),
                   pass in any::<bool>(), acl in any::<bool>(), cdn in any::<bool>()) -> file::FileItem {
        file::FileItem { url, filename, size, date, checksum, content_type,
            pass: Flag(pass), acl: Flag(acl), cdn: Flag(cdn) }
    }
}

prop_compose! {
    fn sub_folder()(id in 0i64..i64::MAX, name in text(), create_date in text(), pass in any::<bool>())
        -> folder::SubFolder {
        folder::SubFolder { id, name, create_date, pass: Flag(pass) }
    }
}

prop_compose! {
    fn end_link()(download in text(), filename in text(), size in any::<u64>(), remove in text(),
                  whirlpool in "[0-9a-f]{0,128}") -> upload::EndLink {
        upload::EndLink { download, filename, size, remove, whirlpool }
    }
}

proptest! {
    #[test]
    fn file_listings_round_trip(items in proptest::collection::vec(file_item(), 0..5)) {
        round_trip(&file::LsResponse { status: Status::Ok, count: items.len() as u64, items });
    }

    #[test]
    fn folder_listings_round_trip(subs in proptest::collection::vec(sub_folder(), 0..5),
                                  items in proptest::option::of(proptest::collection::vec(file_item(), 0..3)),
                                  size in proptest::option::of(any::<u64>()), name in text()) {
        round_trip(&folder::LsResponse {
            status: Status::Ok, folder_id: 7, name, create_date: Some("2026-01-01 00:00:00".into()),
            pass: Flag(false), shared: None, shares: Some(vec![folder::Share {
                email: "a@b.c".into(), rw: Flag(true), hide_links: Flag(false) }]),
            user: None, rw: None, hide_links: None, files: 3, size, sub_folders: subs, items,
        });
    }

    #[test]
    fn end_reports_round_trip(links in proptest::collection::vec(end_link(), 0..4), incoming in any::<bool>()) {
        round_trip(&upload::EndReport { incoming: Flag(incoming), links });
    }

    #[test]
    fn acl_round_trips(ip in proptest::collection::vec("[0-9./]{1,18}", 0..3),
                       country in proptest::collection::vec("[A-Z]{2}", 0..3),
                       premium in any::<bool>()) {
        let acl = file::Acl { ip, country, email: vec!["x@y.z".into()], premium: Flag(premium) };
        round_trip(&file::ChattrRequest { urls: vec!["u".into()], acl: Some(acl), ..Default::default() });
    }

    #[test]
    fn user_info_round_trips(hot in any::<u64>() , available in any::<i64>(), offer in 0i64..4, cdn in any::<bool>()) {
        round_trip(&user::UserInfo {
            status: Status::Ok, message: None, email: "a@b.c".into(),
            offer: user::Offer::from_code(offer).unwrap(), two_factor: "0".into(),
            mail_rm: StrFlag(false), ftp_mode: StrFlag(cdn), ftp_did: 0, ftp_report: StrFlag(false),
            ru_report: StrFlag(true), default_domain: 2, page_limit: 50, default_port: StrFlag(false),
            default_port_files: StrFlag(false), cdn: "1.5".into(), download_menu: StrFlag(false),
            use_cdn: StrFlag(cdn), subscription_end: Some("2027-01-01 00:00:00".into()),
            default_quota: 0, default_cold_storage_quota: 1, hot_storage: hot, cold_storage: 4,
            stats_date: "2026-01-01 00:00:00".into(), allowed_cold_storage: 9,
            available_storage: available, available_cold_storage: -3, extended_quota: 0,
            extended_quota_end: None, overquota: Flag(false), upload_forbidden: StrFlag(false),
        });
    }
}
