//! API keys and passwords: generation, digests, and checks that leak no timing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of a new API key: 32 alphanumerics (about 190 bits), the live service's length.
pub const KEY_LEN: usize = 32;

/// How many leading characters of a key are kept so its owner can tell keys apart.
pub const KEY_PREFIX_LEN: usize = 6;

/// A new random key from the operating system's CSPRNG.
pub fn generate_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), KEY_LEN)
}

/// A random alphanumeric id of `len` characters (link ids, share ids, codes).
pub fn random_id(len: usize, lowercase: bool) -> String {
    let id = Alphanumeric.sample_string(&mut rand::rng(), len);
    if lowercase {
        id.to_ascii_lowercase()
    } else {
        id
    }
}

/// The stored digest of a key. Keys are high-entropy, so a fast hash is enough: nobody can
/// brute-force 190 bits, and a slow KDF would make every API call slow.
pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The displayable prefix of a key.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX_LEN).collect()
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// Hashes a user-chosen password (file, folder share, FTP) with Argon2id.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .expect("Argon2 with default parameters hashes any password")
}

/// Checks a password against its stored hash; a corrupt hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Argon2 off the async workers: each hash runs on tokio's blocking threads, at most one per
/// core at once, so that password guesses (even many) never slow down other requests.
#[derive(Debug)]
pub struct PasswordPool {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl PasswordPool {
    /// At most `parallel` hashes at once.
    pub fn new(parallel: usize) -> Self {
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1))),
        }
    }

    /// A pool with one place per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    }

    /// [`hash_password`], off the async workers.
    pub async fn hash(&self, password: &str) -> String {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await
    }

    /// [`verify_password`], off the async workers.
    pub async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || verify_password(&password, &hash)).await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let _place = self
            .permits
            .acquire()
            .await
            .expect("the pool is never closed");
        tokio::task::spawn_blocking(work)
            .await
            .expect("password hashing does not panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_digested() {
        let a = generate_key();
        let b = generate_key();
        assert_eq!(a.len(), KEY_LEN);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(digests_equal(&key_digest(&a), &key_digest(&a)));
        assert!(!digests_equal(&key_digest(&a), &key_digest(&b)));
        assert_eq!(key_prefix(&a).len(), KEY_PREFIX_LEN);
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("secret1");
        assert!(verify_password("secret1", &hash));
        assert!(!verify_password("secret2", &hash));
        assert!(!verify_password("secret1", "not a hash"));
    }
}
