//! The lenient JSON decoders of the request and answer types: any input decodes or is refused,
//! never panics; what decodes encodes again and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onefichier_protocol::{download, file, folder, remote, user};

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

fuzz_target!(|data: &[u8]| {
    round_trip::<file::LsRequest>(data);
    round_trip::<file::LsResponse>(data);
    round_trip::<file::FileInfo>(data);
    round_trip::<file::ChattrRequest>(data);
    round_trip::<folder::LsResponse>(data);
    round_trip::<folder::ShareRequest>(data);
    round_trip::<download::GetTokenRequest>(data);
    round_trip::<remote::RequestRequest>(data);
    round_trip::<user::InfoRequest>(data);
});
