//! `ONEFICHIER_VERSION`, the version `--version` prints: the package's version and the
//! commit it was built from, with that commit's date (`0.1.0 (02e8a81c3d4e 2026-12-07)`).
//!
//! The commit comes from `ONEFICHIER_BUILD_COMMIT` when set (a build from a source archive,
//! where there is no repository to ask), otherwise from git; without either, the version alone.
//! The server's build script includes this file, so both binaries say it alike.

use std::path::PathBuf;
use std::process::Command;

/// Sets `ONEFICHIER_VERSION` for the crate being built.
pub(crate) fn set_version() {
    println!("cargo:rerun-if-env-changed=ONEFICHIER_BUILD_COMMIT");
    let version = env!("CARGO_PKG_VERSION");
    let commit = std::env::var("ONEFICHIER_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .map(|commit| commit.trim().to_owned())
        .or_else(commit_from_git);
    let full = match commit {
        Some(commit) => format!("{version} ({commit})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=ONEFICHIER_VERSION={full}");
}

/// `HASH DATE` of the checked-out commit, and the files whose change means another commit.
fn commit_from_git() -> Option<String> {
    let described = git(&["log", "-1", "--format=%h %cs", "--abbrev=12"])?;
    // A new commit moves HEAD's branch (a loose ref, or packed-refs after `git gc`); a checkout
    // moves HEAD itself.
    let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    println!(
        "cargo:rerun-if-changed={}",
        git_dir.join("packed-refs").display()
    );
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed={}", git_dir.join(branch).display());
    }
    Some(described)
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
