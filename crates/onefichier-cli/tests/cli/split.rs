//! Files over the server's per-file limit: stored as parts plus a manifest, listed and
//! downloaded as one file, resumed without sending a part twice, and a damaged part caught.

use crate::common;

use common::{Env, write};
use serde_json::Value;

const LIMIT: u64 = 10 << 20;

fn entries(listing: &Value) -> &Vec<Value> {
    listing["entries"].as_array().unwrap()
}

#[test]
fn a_file_over_the_limit_round_trips_as_parts_and_a_damaged_part_is_caught() {
    let env = Env::new(&["--max-file-size", &LIMIT.to_string()]);
    let src = env.home.path().join("src");
    let bytes: Vec<u8> = (0..35u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&src, "big.bin", &bytes);
    let file = src.join("big.bin");
    let uploaded = env.json_lines(&["upload", file.to_str().unwrap(), "/split"]);
    assert_eq!(uploaded[0]["event"], "uploaded", "{uploaded:?}");
    assert_eq!(uploaded[0]["size"], bytes.len() as u64);
    assert_eq!(
        uploaded[0]["whirlpool"],
        env.text(&["hash", file.to_str().unwrap()])
            .split_whitespace()
            .next()
            .unwrap()
    );

    // One file in listings; its parts and manifest with --raw.
    let listed = env.json(&["ls", "/split"]);
    assert_eq!(entries(&listed).len(), 1, "{listed}");
    assert_eq!(entries(&listed)[0]["name"], "big.bin");
    assert_eq!(entries(&listed)[0]["size"], bytes.len() as u64);
    assert_eq!(entries(&listed)[0]["split"], true);
    let raw = env.json(&["ls", "--raw", "/split"]);
    let mut names: Vec<&str> = entries(&raw)
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "big.bin.1fsplit",
            "big.bin.1fsplit.001",
            "big.bin.1fsplit.002",
            "big.bin.1fsplit.003",
            "big.bin.1fsplit.004"
        ]
    );
    for part in entries(&raw) {
        assert!(part["size"].as_u64().unwrap() <= LIMIT, "{part}");
    }

    // Sent again: the parts and manifest there are recognised, nothing is stored twice.
    env.json_lines(&["upload", file.to_str().unwrap(), "/split"]);
    assert_eq!(entries(&env.json(&["ls", "--raw", "/split"])).len(), 5);

    // Downloaded whole, byte for byte, with no part left behind.
    let out = env.home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    env.json_lines(&["download", "/split", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(out.join("split/big.bin")).unwrap(), bytes);
    let left: Vec<_> = std::fs::read_dir(out.join("split"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // A part damaged on the server: the download fails and no whole file appears.
    let last_part = 35 * (1 << 20) - 3 * LIMIT;
    let blob = find_file_of_size(&env.server.data_dir().join("blobs"), last_part).unwrap();
    let mut damaged = std::fs::read(&blob).unwrap();
    damaged[1000] ^= 0xff;
    std::fs::write(&blob, damaged).unwrap();
    let again = env.home.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    // Exit code 9: a transfer did not verify.
    let error = env.fails(&["download", "/split", again.to_str().unwrap()], 9);
    assert!(
        error.contains("big.bin.1fsplit.004") && error.contains("Whirlpool"),
        "{error}"
    );
    assert!(!again.join("split/big.bin").exists());
}

fn find_file_of_size(dir: &std::path::Path, size: u64) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_file_of_size(&path, size) {
                return Some(found);
            }
        } else if std::fs::metadata(&path).ok()?.len() == size {
            return Some(path);
        }
    }
    None
}

fn summary(lines: &[Value]) -> &Value {
    lines.iter().find(|l| l["event"] == "summary").unwrap()
}

#[test]
fn sync_carries_a_file_over_the_limit_as_one_file() {
    let env = Env::new(&["--max-file-size", &LIMIT.to_string()]);
    let src = env.home.path().join("tree");
    let mut bytes: Vec<u8> = (0..25u32 << 20)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    write(&src, "big.bin", &bytes);
    write(&src, "small.txt", b"small");
    let tree = src.to_str().unwrap();
    let first = env.json_lines(&["sync", "--delete", tree, "/mirror"]);
    assert_eq!(summary(&first)["copied"], 2, "{first:?}");
    assert_eq!(summary(&first)["failed"], 0, "{first:?}");
    // Nothing changed: the set counts as the file, nothing is sent or deleted.
    let again = env.json_lines(&["sync", "--delete", tree, "/mirror"]);
    assert_eq!(summary(&again)["unchanged"], 2, "{again:?}");
    assert_eq!(summary(&again)["copied"], 0);
    assert_eq!(summary(&again)["deleted"], 0);
    // The manifest, its three parts, small.txt and the folder's times file.
    assert_eq!(entries(&env.json(&["ls", "--raw", "/mirror"])).len(), 6);

    // Changed at its end: the new set replaces the old one, whose parts all go.
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    write(&src, "big.bin", &bytes);
    let changed = env.json_lines(&["sync", "--delete", tree, "/mirror"]);
    assert_eq!(summary(&changed)["copied"], 1, "{changed:?}");
    assert_eq!(entries(&env.json(&["ls", "--raw", "/mirror"])).len(), 6);

    // And back, whole, with a fresh state folder (the manifest is read to compare).
    let restored = env.home.path().join("restored");
    let other_state = env.home.path().join("other-state");
    let fresh_state = [("ONEFICHIER_STATE_DIR", other_state.to_str().unwrap())];
    let down = ["sync", "/mirror", restored.to_str().unwrap()];
    env.json_lines_with(&fresh_state, &down);
    assert_eq!(std::fs::read(restored.join("big.bin")).unwrap(), bytes);
    let lines = env.json_lines_with(&fresh_state, &down);
    assert_eq!(summary(&lines)["copied"], 0, "{lines:?}");
    assert_eq!(summary(&lines)["times_set"], 0, "{lines:?}");
}

#[test]
fn a_stated_limit_splits_before_the_server_refuses() {
    let env = Env::new(&["--max-file-size", &LIMIT.to_string()]);
    let src = env.home.path().join("src");
    write(&src, "mid.bin", &vec![7u8; 12 << 20]);
    let stated = (8u64 << 20).to_string();
    env.json_lines_with(
        &[("ONEFICHIER_MAX_FILE_SIZE", &stated)],
        &["upload", src.join("mid.bin").to_str().unwrap(), "/stated"],
    );
    let raw = env.json(&["ls", "--raw", "/stated"]);
    let mut sizes: Vec<u64> = entries(&raw)
        .iter()
        .filter(|e| e["name"].as_str().unwrap().contains(".1fsplit."))
        .map(|e| e["size"].as_u64().unwrap())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [4 << 20, 8 << 20]);
}

#[test]
fn a_file_in_parts_is_one_file_to_every_command() {
    let env = Env::new(&["--max-file-size", &LIMIT.to_string()]);
    let src = env.home.path().join("src");
    let bytes = onefichier_test_support::pseudo_random(22 << 20, 7);
    write(&src, "big.bin", &bytes);
    let file = src.join("big.bin");
    let uploaded = env.json_lines(&["upload", file.to_str().unwrap(), "/big"]);
    assert_eq!(uploaded[0]["parts"], 3, "{uploaded:?}");
    let manifest_link = uploaded[0]["link"].as_str().unwrap().to_owned();
    let whole = uploaded[0]["whirlpool"].as_str().unwrap().to_owned();
    // The limit the server stated in its 413 is learned once: the next run splits at once.
    let too_large = || {
        env.server
            .log()
            .lines()
            .filter(|l| l.contains("request served") && l.contains("status=413"))
            .count()
    };
    // (A loaded machine may see the first refusal as a broken connection and meet a second.)
    let first = too_large();
    assert!(first >= 1);
    let other = src.join("other.bin");
    std::fs::write(&other, &bytes[..12 << 20]).unwrap();
    let again = env.json_lines(&["upload", other.to_str().unwrap(), "/big"]);
    assert_eq!(again[0]["parts"], 2, "{again:?}");
    assert_eq!(too_large(), first, "no 413 in a later run");
    env.text(&["rm", "--yes", "/big/other.bin"]);

    // info: the whole file, with its parts.
    let info = env.json(&["info", "/big/big.bin"]);
    assert_eq!(info["filename"], "big.bin", "{info}");
    assert_eq!(info["size"], bytes.len() as u64);
    assert_eq!(info["checksum"], whole.as_str());
    assert_eq!(info["parts"].as_array().unwrap().len(), 3);
    let text = env.text(&["info", "/big/big.bin"]);
    assert!(text.contains("Stored in:   3 parts"), "{text}");

    // download by path and by the manifest's link: reassembled and verified.
    let by_path = env.home.path().join("by-path");
    env.text(&["download", "/big/big.bin", "-o", by_path.to_str().unwrap()]);
    assert_eq!(std::fs::read(by_path.join("big.bin")).unwrap(), bytes);
    let by_link = env.home.path().join("by-link");
    env.text(&["download", &manifest_link, "-o", by_link.to_str().unwrap()]);
    assert_eq!(std::fs::read(by_link.join("big.bin")).unwrap(), bytes);

    // link: each part's URL, in order.
    let links = env.json(&["link", "/big/big.bin"]);
    assert_eq!(links["parts"].as_array().unwrap().len(), 3, "{links}");

    // rename, mv, cp, rm act on the whole set.
    env.text(&["rename", "/big/big.bin", "huge.bin"]);
    let raw = env.json(&["ls", "--raw", "/big"]);
    let mut names: Vec<&str> = entries(&raw)
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "huge.bin.1fsplit",
            "huge.bin.1fsplit.001",
            "huge.bin.1fsplit.002",
            "huge.bin.1fsplit.003"
        ]
    );
    env.text(&["mkdir", "/moved"]);
    env.text(&["mv", "/big/huge.bin", "/moved"]);
    assert!(entries(&env.json(&["ls", "--raw", "/big"])).is_empty());
    env.text(&["cp", "-p", "/moved/huge.bin", "/copies/copy.bin"]);
    let copy = env.home.path().join("copy");
    env.text(&["download", "/copies/copy.bin", "-o", copy.to_str().unwrap()]);
    assert_eq!(std::fs::read(copy.join("copy.bin")).unwrap(), bytes);
    env.text(&["rm", "--yes", "/moved/huge.bin"]);
    assert!(entries(&env.json(&["ls", "--raw", "/moved"])).is_empty());
    assert_eq!(entries(&env.json(&["ls", "--raw", "/copies"])).len(), 4);
}
