//! The version `--version` prints, with the commit (the CLI's build_version.rs, shared); and the
//! migrations' folder watched.
#[path = "../onefichier-cli/build_version.rs"]
mod build_version;

fn main() {
    build_version::set_version();
    // The migrations are embedded by `sqlx::migrate!`, which cannot tell cargo to watch their
    // folder on stable Rust: a new migration must rebuild the crate (sqlx's documented build
    // script).
    println!("cargo:rerun-if-changed=migrations");
}
