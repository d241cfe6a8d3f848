//! The Range header: any header and size give a range inside the file, or none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onefichier_server::range::{RangeRequest, parse_range};

fuzz_target!(|input: (&str, u64)| {
    let (header, size) = input;
    if let RangeRequest::Part(start, end) = parse_range(Some(header), size) {
        assert!(
            start < end && end <= size,
            "{header:?} {size}: {start}..{end}"
        );
    }
});
