//! Names: the server's rule and the client's local names. A local name is always exactly one
//! plain path component, and a name the server accepts stays as it is (when short enough).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onefichier_client::local::{Platform, safe_component_for};
use onefichier_protocol::ids::check_name;
use std::path::{Component, Path};

fuzz_target!(|name: &str| {
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
});
