//! The properties the fuzz targets check (`fuzz/fuzz_targets`), one function each: libFuzzer
//! calls them with new inputs (`scripts/fuzz`), and the tests below replay the committed corpus
//! (`fuzz/corpus/TARGET`) through them, so every input the fuzzer kept — the ones that once
//! found a bug among them — is checked by `cargo test` without a fuzzing build.

use arbitrary::{Arbitrary, Unstructured};
use onefichier_client::local::{Platform, safe_component_for};
use onefichier_protocol::ids::check_name;
use onefichier_protocol::public::{DirEntry, LinkCheck};
use onefichier_protocol::range::{RangeRequest, parse_range};
use onefichier_protocol::upload::EndReport;
use onefichier_protocol::{download, file, folder, remote, user};
use onefichier_server::multipart::FramingGuard;
use std::path::{Component, Path};

/// The fuzz targets, by name.
pub const TARGETS: [&str; 5] = [
    "client_answers",
    "lenient_json",
    "multipart_guard",
    "names",
    "range",
];

/// Runs `target`'s property on raw fuzzer bytes, decoding typed inputs as libFuzzer's
/// `fuzz_target!` does (`Arbitrary::arbitrary_take_rest`; undecodable inputs are skipped).
pub fn run(target: &str, data: &[u8]) {
    match target {
        "client_answers" => client_answers(data),
        "lenient_json" => lenient_json(data),
        "multipart_guard" => multipart_guard(data),
        "names" => {
            if let Ok(name) = <&str>::arbitrary_take_rest(Unstructured::new(data)) {
                names(name);
            }
        }
        "range" => {
            if let Ok((header, size)) = <(&str, u64)>::arbitrary_take_rest(Unstructured::new(data))
            {
                range(header, size);
            }
        }
        other => panic!("no fuzz target {other}"),
    }
}

/// What the client reads from servers it does not control: end.pl reports, check_links lines,
/// listings, errors. Never a panic; a link check printed and parsed again reads the same.
pub fn client_answers(data: &[u8]) {
    let _ = serde_json::from_slice::<EndReport>(data);
    let _ = serde_json::from_slice::<Vec<DirEntry>>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            if let Some(check) = LinkCheck::parse(line) {
                assert_eq!(LinkCheck::parse(&check.to_string()), Some(check.clone()));
            }
        }
        let _ = onefichier_protocol::parse_message(text);
        let _ = onefichier_client::classify("fuzz", 403, None, data, true);
    }
}

fn round_trip<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let again = serde_json::to_vec(&value).expect("decoded values encode");
        let back: T = serde_json::from_slice(&again).expect("what we encode we decode");
        assert_eq!(value, back);
    }
}

/// The lenient JSON decoders of the request and answer types: any input decodes or is refused,
/// never panics; what decodes encodes again and decodes to the same value.
pub fn lenient_json(data: &[u8]) {
    round_trip::<file::LsRequest>(data);
    round_trip::<file::LsResponse>(data);
    round_trip::<file::FileInfo>(data);
    round_trip::<file::ChattrRequest>(data);
    round_trip::<folder::LsResponse>(data);
    round_trip::<folder::ShareRequest>(data);
    round_trip::<download::GetTokenRequest>(data);
    round_trip::<remote::RequestRequest>(data);
    round_trip::<user::InfoRequest>(data);
}

/// The upload body's framing guard: never panics, and judges a body the same whatever the
/// chunks it arrives in (the first byte of input picks the chunk size).
pub fn multipart_guard(data: &[u8]) {
    let Some((&piece, body)) = data.split_first() else {
        return;
    };
    let whole = FramingGuard::new("XYZ").feed(body);
    let mut guard = FramingGuard::new("XYZ");
    let chunked = body
        .chunks(usize::from(piece).max(1))
        .try_for_each(|chunk| guard.feed(chunk));
    assert_eq!(whole, chunked);
}

/// Names: the server's rule and the client's local names. A local name is always exactly one
/// plain path component, and a name the server accepts stays as it is (when short enough).
pub fn names(name: &str) {
    for platform in [Platform::Unix, Platform::Windows] {
        let local = safe_component_for(name, platform);
        let mut components = Path::new(&local).components();
        assert!(
            matches!(components.next(), Some(Component::Normal(_))),
            "{name:?} -> {local:?}"
        );
        assert!(components.next().is_none(), "{name:?} -> {local:?}");
        assert!(local.len() <= 255);
        assert!(!local.contains('\0'));
    }
    if check_name(name).is_ok() && name.len() <= 255 {
        assert_eq!(safe_component_for(name, Platform::Unix), name);
    }
}

/// The Range header: any header and size give a range inside the file, or none.
pub fn range(header: &str, size: u64) {
    if let RangeRequest::Part(start, end) = parse_range(Some(header), size) {
        assert!(
            start < end && end <= size,
            "{header:?} {size}: {start}..{end}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_fuzz_input_still_holds() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        for target in TARGETS {
            let inputs: Vec<_> = std::fs::read_dir(corpus.join(target))
                .unwrap_or_else(|e| panic!("{target}'s corpus: {e}"))
                .map(|entry| entry.unwrap().path())
                .collect();
            assert!(!inputs.is_empty(), "{target}'s corpus is empty");
            for input in inputs {
                let data = std::fs::read(&input).unwrap();
                let outcome = std::panic::catch_unwind(|| run(target, &data));
                assert!(outcome.is_ok(), "{target} fails on {}", input.display());
            }
        }
    }
}
