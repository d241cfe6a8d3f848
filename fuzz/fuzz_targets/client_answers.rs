//! What the client reads from servers it does not control: end.pl reports, check_links lines,
//! listings, errors. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onefichier_protocol::public::{DirEntry, LinkCheck};
use onefichier_protocol::upload::EndReport;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<EndReport>(data);
    let _ = serde_json::from_slice::<Vec<DirEntry>>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            if let Some(check) = LinkCheck::parse(line) {
                // What the parser reads, printed and parsed again, reads the same.
                assert_eq!(LinkCheck::parse(&check.to_string()), Some(check.clone()));
            }
        }
        let _ = onefichier_protocol::parse_message(text);
        let _ = onefichier_client::classify("fuzz", 403, None, data, true);
    }
});
