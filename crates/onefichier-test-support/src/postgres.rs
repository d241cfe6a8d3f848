//! A database of its own on a running PostgreSQL server, for the tests of the PostgreSQL
//! metadata store: created empty with `createdb`, dropped (connections and all) when dropped.
//!
//! The server is the one `ONEFICHIER_TEST_POSTGRES` names (a URL of any database on it, default
//! the local cluster's Unix socket as this user, `postgres://USER@localhost/postgres?host=/var/run/postgresql`); `.ci/run`
//! starts Debian's cluster. Without a server a test fails saying so, unless
//! `ONEFICHIER_SKIP_POSTGRES=1` asks to skip.

use anyhow::{Context, Result, bail, ensure};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A throwaway database.
pub struct TestDatabase {
    name: String,
    server: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("dropdb")
            .args(["--force", "--if-exists", "--maintenance-db", &self.server])
            .arg(&self.name)
            .output();
    }
}

impl TestDatabase {
    /// Creates a database, or `None` when the server does not answer and
    /// `ONEFICHIER_SKIP_POSTGRES` is set (the skip is printed).
    pub fn create_or_skip() -> Result<Option<Self>> {
        Self::create_unless(std::env::var_os("ONEFICHIER_SKIP_POSTGRES").is_some())
    }

    /// Creates a database; fails when the server does not answer.
    pub fn create() -> Result<Self> {
        Self::create_unless(false)?.context("no database")
    }

    fn create_unless(skip_without_server: bool) -> Result<Option<Self>> {
        let server = std::env::var("ONEFICHIER_TEST_POSTGRES").unwrap_or_else(|_| {
            // sqlx does not default to the system user as libpq does: the URL names it.
            let user = Command::new("id")
                .arg("-un")
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .unwrap_or_else(|_| "postgres".into());
            format!("postgres://{user}@localhost/postgres?host=/var/run/postgresql")
        });
        let ready = Command::new("pg_isready").args(["-d", &server]).output();
        if !ready.is_ok_and(|out| out.status.success()) {
            if skip_without_server {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIPPED: no PostgreSQL server and ONEFICHIER_SKIP_POSTGRES is set");
                }
                return Ok(None);
            }
            bail!(
                "no PostgreSQL server answers at {server}: start one (.ci/run does) or set \
                 ONEFICHIER_TEST_POSTGRES to its URL, or ONEFICHIER_SKIP_POSTGRES=1 to skip"
            );
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "onefichier_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("createdb")
            .args(["--maintenance-db", &server])
            .arg(&name)
            .output()
            .context("cannot run createdb (Debian's postgresql-client)")?;
        ensure!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Some(Self { name, server }))
    }

    /// The database's URL, for `PostgresRepo::connect` or the server's `--meta`.
    pub fn url(&self) -> String {
        let (base, query) = self.server.split_once('?').unwrap_or((&self.server, ""));
        let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
        if query.is_empty() {
            format!("{base}/{}", self.name)
        } else {
            format!("{base}/{}?{query}", self.name)
        }
    }
}
