//! What the client reads from servers it does not control (the property:
//! `onefichier_test_support::fuzz::client_answers`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| onefichier_test_support::fuzz::client_answers(data));
