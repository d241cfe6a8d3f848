//! The Range header (the property: `onefichier_test_support::fuzz::range`).
#![no_main]

libfuzzer_sys::fuzz_target!(|input: (&str, u64)| onefichier_test_support::fuzz::range(input.0, input.1));
