// The migrations are embedded by `sqlx::migrate!`, which cannot tell cargo to watch their folder
// on stable Rust: a new migration must rebuild the crate (sqlx's documented build script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
