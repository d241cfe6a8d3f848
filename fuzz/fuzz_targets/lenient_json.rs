//! The lenient JSON decoders (the property: `onefichier_test_support::fuzz::lenient_json`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| onefichier_test_support::fuzz::lenient_json(data));
