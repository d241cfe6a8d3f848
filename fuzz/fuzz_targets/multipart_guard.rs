//! The upload body's framing guard: never panics, and judges a body the same whatever the
//! chunks it arrives in (the first byte of input picks the chunk size).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onefichier_server::multipart::FramingGuard;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, body)) = data.split_first() else {
        return;
    };
    let whole = FramingGuard::new("XYZ").feed(body);
    let mut guard = FramingGuard::new("XYZ");
    let chunked = body
        .chunks(usize::from(piece).max(1))
        .try_for_each(|chunk| guard.feed(chunk));
    assert_eq!(whole, chunked);
});
