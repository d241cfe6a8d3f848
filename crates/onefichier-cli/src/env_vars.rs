//! The environment variables the CLI reads.

/// The API key.
pub(crate) const API_KEY: &str = onefichier_client::env::API_KEY;
/// The API base URL.
pub(crate) const API_URL: &str = onefichier_client::env::API_URL;
/// The profile (also `--profile`).
pub(crate) const PROFILE: &str = "ONEFICHIER_PROFILE";
/// Where `config.toml` and `credentials.toml` live (default: the user's config folder).
pub(crate) const CONFIG_DIR: &str = "ONEFICHIER_CONFIG_DIR";
/// `off` keeps keys out of the OS keyring (the file store is used).
pub(crate) const KEYRING: &str = "ONEFICHIER_KEYRING";
/// `unlimited` lifts the governor's budgets, for a self-hosted server run with `--limits off`.
pub(crate) const BUDGETS: &str = "ONEFICHIER_BUDGETS";
/// A CA certificate (PEM file) to trust besides the system's: a self-hosted server's.
pub(crate) const CA_CERT: &str = "ONEFICHIER_CA_CERT";
/// Longest wait accepted for budgets and locks, in seconds (also `--max-wait`).
pub(crate) const MAX_WAIT: &str = "ONEFICHIER_MAX_WAIT";
/// The largest file the server stores whole, in bytes; larger ones are stored in parts.
pub(crate) const MAX_FILE_SIZE: &str = "ONEFICHIER_MAX_FILE_SIZE";
/// The password `serve --user` requires (never on the command line).
pub(crate) const SERVE_PASSWORD: &str = "ONEFICHIER_SERVE_PASSWORD";
/// The block cache's folder of `mount` and `serve` (also `--cache-dir`).
pub(crate) const CACHE_DIR: &str = "ONEFICHIER_CACHE_DIR";
/// Disables colours (any value).
pub(crate) const NO_COLOR: &str = "NO_COLOR";

/// Every variable with what it does, for the man page.
pub(crate) const ALL: &[(&str, &str)] = &[
    (
        SERVE_PASSWORD,
        "The password `serve --user` requires from clients.",
    ),
    (
        CACHE_DIR,
        "The block cache folder of `mount` and `serve` (default: the user's cache folder).",
    ),
    (API_KEY, "The API key (else the profile's stored key)."),
    (
        API_URL,
        "The API base URL (default https://api.1fichier.com/v1).",
    ),
    (PROFILE, "The profile (also --profile)."),
    (CONFIG_DIR, "Where config.toml and credentials.toml live."),
    (
        onefichier_client::env::STATE_DIR,
        "Where the shared budget state and the hash cache live.",
    ),
    (
        KEYRING,
        "off keeps keys out of the OS keyring (the owner-only file is used).",
    ),
    (
        BUDGETS,
        "unlimited lifts the budgets, for a self-hosted server with --limits off.",
    ),
    (
        CA_CERT,
        "A CA certificate (PEM) to trust besides the system's.",
    ),
    (
        MAX_WAIT,
        "Longest wait for budgets and locks, in seconds (also --max-wait).",
    ),
    (
        MAX_FILE_SIZE,
        "Largest file stored whole, in bytes (default 300 GB); larger files go in parts.",
    ),
    (NO_COLOR, "Disables colours."),
];
