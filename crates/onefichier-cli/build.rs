//! The version `--version` prints, with the commit (build_version.rs).
mod build_version;

fn main() {
    build_version::set_version();
}
