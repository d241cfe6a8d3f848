//! The test environment: the real server on loopback and the real `1fichier` binary with a
//! private config folder, state folder and no keyring.
#![allow(dead_code, unreachable_pub)]

use assert_cmd::Command;
use onefichier_test_support::{TestServer, server_binary};
use serde_json::Value;
use std::path::Path;

pub struct Env {
    pub server: TestServer,
    pub key: String,
    pub home: tempfile::TempDir,
}

impl Env {
    pub fn new(extra: &[&str]) -> Self {
        let mut server = TestServer::new(server_binary()).unwrap();
        let key = server
            .account_with_key("user@example.com", "premium")
            .unwrap();
        let mut args = vec!["--limits", "off"];
        args.extend_from_slice(extra);
        server.start(&args).unwrap();
        Self {
            server,
            key,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `1fichier` with this test's private config folder, against this server.
    pub fn cli(&self) -> Command {
        Command::from_std(self.std_cli())
    }

    pub fn std_cli(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_1fichier"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("ONEFICHIER_CONFIG_DIR", self.home.path().join("config"))
            .env("ONEFICHIER_STATE_DIR", self.home.path().join("state"))
            .env("ONEFICHIER_KEYRING", "off")
            .env("ONEFICHIER_BUDGETS", "unlimited")
            // Times are shown in the machine's zone: one zone for every test machine.
            .env("TZ", "UTC")
            .env("ONEFICHIER_API_URL", self.server.api_url())
            .current_dir(self.home.path());
        command
    }

    /// [`Env::std_cli`] with the key, for a process the test drives itself (mount, serve).
    pub fn std_cli_authed(&self) -> std::process::Command {
        let mut command = self.std_cli();
        command.env("ONEFICHIER_API_KEY", &self.key);
        command
    }

    pub fn authed(&self) -> Command {
        let mut command = self.cli();
        command.env("ONEFICHIER_API_KEY", &self.key);
        command
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.authed().arg("--json").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&output.stdout))
        })
    }

    pub fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.json_lines_with(&[], args)
    }

    /// [`Env::json_lines`] with these environment variables set too.
    pub fn json_lines_with(&self, vars: &[(&str, &str)], args: &[&str]) -> Vec<Value> {
        let mut command = self.authed();
        command.envs(vars.iter().copied());
        let output = command.arg("--json").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn text(&self, args: &[&str]) -> String {
        let output = self.authed().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A voucher for `service` (e.g. `premium-30d`), made on the server's command line.
    pub fn create_voucher(&self, service: &str) -> String {
        self.server
            .create_voucher("user@example.com", service)
            .unwrap()
    }

    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let output = self.authed().args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stderr).unwrap()
    }
}

/// Asserts that only the owner may read or write `path` (mode 0600).
pub fn assert_owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

pub fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A server with the live service's limits (`--limits 1fichier`), its key, and a home folder
/// for a CLI with the default (live) budgets; `log` records requests for `requests_to`.
pub fn live(log: bool) -> (TestServer, String, tempfile::TempDir) {
    let mut server = TestServer::new(server_binary()).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    if log {
        server.log_requests();
    }
    server.start(&["--limits", "1fichier"]).unwrap();
    (server, key, tempfile::tempdir().unwrap())
}

/// Runs `1fichier ARGS…` against a [`live`] server, with the CLI's default budgets.
pub fn live_cli(
    server: &TestServer,
    key: &str,
    home: &Path,
    args: &[&str],
) -> std::process::Output {
    live_cli_at(&server.api_url(), key, home, args)
}

/// [`live_cli`] against any API URL (a server that is not there).
pub fn live_cli_at(api_url: &str, key: &str, home: &Path, args: &[&str]) -> std::process::Output {
    live_command_at(api_url, key, home)
        .args(args)
        .output()
        .unwrap()
}

/// `1fichier` against a [`live`] server with the CLI's default budgets, for the test to run.
pub fn live_command(server: &TestServer, key: &str, home: &Path) -> std::process::Command {
    live_command_at(&server.api_url(), key, home)
}

fn live_command_at(api_url: &str, key: &str, home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("1fichier"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("ONEFICHIER_CONFIG_DIR", home.join("config"))
        .env("ONEFICHIER_STATE_DIR", home.join("state"))
        .env("ONEFICHIER_KEYRING", "off")
        .env("ONEFICHIER_API_URL", api_url)
        .env("ONEFICHIER_API_KEY", key)
        .env("TZ", "UTC");
    command
}

/// [`live_cli`] that must succeed: its standard output.
pub fn live_text(server: &TestServer, key: &str, home: &Path, args: &[&str]) -> String {
    let output = live_cli(server, key, home, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
