//! Names, the server's rule and the client's local names (the property:
//! `onefichier_test_support::fuzz::names`).
#![no_main]

libfuzzer_sys::fuzz_target!(|name: &str| onefichier_test_support::fuzz::names(name));
