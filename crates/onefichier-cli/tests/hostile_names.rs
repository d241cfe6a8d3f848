//! Remote names are untrusted: a server (here a scripted one) that lists `../x`, `/etc/x`,
//! `a/b`, `..`, `.`, `con`, NUL and trailing dots or spaces never gets a file written outside
//! the destination, nor an existing file overwritten.

use assert_cmd::Command;
use onefichier_test_support::fault::{FaultServer, Step};
use serde_json::json;

const HOSTILE: [&str; 11] = [
    "../victim.txt",
    "/etc/x",
    "a/b",
    "..",
    ".",
    "con",
    "nul\0byte",
    "trailing. ",
    "dots...",
    "same.txt",
    "same.txt",
];

#[test]
fn dl_dir_keeps_every_hostile_name_inside_the_destination() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let node = runtime
        .block_on(FaultServer::routes(vec![(
            "/dl/",
            Step::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: b"remote bytes".to_vec(),
            },
        )]))
        .unwrap();
    let entries: Vec<_> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"filename": name, "link": format!("https://1fichier.com/?entry{i:015}"),
                   "size": 12, "password": 0, "acl": 0})
        })
        .collect();
    let token = json!({"status": "OK", "url": format!("{}/dl/token", node.url())});
    let api = runtime
        .block_on(FaultServer::routes(vec![
            (
                "/dir/",
                Step::json(200, &serde_json::to_string(&entries).unwrap()),
            ),
            (
                "/v1/download/get_token.cgi",
                Step::json(200, &token.to_string()),
            ),
        ]))
        .unwrap();

    let home = tempfile::tempdir().unwrap();
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dest = home.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let output = Command::cargo_bin("1fichier")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .env("ONEFICHIER_CONFIG_DIR", home.path().join("config"))
        .env("ONEFICHIER_STATE_DIR", home.path().join("state"))
        .env("ONEFICHIER_KEYRING", "off")
        .env("ONEFICHIER_BUDGETS", "unlimited")
        .env("ONEFICHIER_API_URL", format!("{}/v1", api.url()))
        .env("ONEFICHIER_API_KEY", "k".repeat(32))
        .args(["dl-dir", "AbCdEf12", "-o", dest.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let mut written: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected = vec![
        ".._victim.txt",
        "_etc_x",
        "a_b",
        "__",
        "_",
        "con",
        "nul_byte",
        "trailing. ",
        "dots...",
        "same.txt",
        "same (2).txt",
    ];
    expected.sort_unstable();
    assert_eq!(written, expected);
    for name in &written {
        assert_eq!(std::fs::read(dest.join(name)).unwrap(), b"remote bytes");
    }
    // Nothing but the destination and the victim beside it (and the CLI's own folders).
    let mut beside: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "config" && n != "state")
        .collect();
    beside.sort();
    assert_eq!(beside, ["dest", "victim.txt"]);
}
