//! The upload body's framing guard (the property:
//! `onefichier_test_support::fuzz::multipart_guard`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| onefichier_test_support::fuzz::multipart_guard(data));
