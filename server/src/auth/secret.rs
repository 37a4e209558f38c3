//! The secrets access control hands out and checks: passwords (argon2id, salted, slow on
//! purpose), and session tokens and API keys (random, 256 bits; stored as SHA-256, which is
//! enough for values no one can guess, and cheap enough to check on every ingest request).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::Digest;

/// What API keys start with: recognisable in a leaked config, and by secret scanners.
pub const KEY_PREFIX: &str = "sl_";
/// Characters of a key shown in the UI to tell keys apart.
const SHOWN_CHARS: usize = 11;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new session token: 256 random bits, URL-safe.
pub fn new_token() -> String {
    b64(&random_bytes::<32>())
}

/// A new API key and the part of it the UI may show.
pub fn new_api_key() -> (String, String) {
    let key = format!("{KEY_PREFIX}{}", b64(&random_bytes::<32>()));
    let shown = key.chars().take(SHOWN_CHARS).collect();
    (key, shown)
}

/// A one-time password for a first admin or a reset: 18 random bytes, 24 characters.
pub fn one_time_password() -> String {
    b64(&random_bytes::<18>())
}

/// How a token or key is stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// An argon2id PHC string (OWASP's parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password with default parameters")
        .to_string()
}

/// Checks a password against a stored PHC string; a corrupt hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password users may choose: long enough to resist guessing at argon2's cost.
///
/// # Errors
/// Why it is refused.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 10 {
        return Err(format!("at least 10 characters (got {n})"));
    }
    if n > 256 {
        return Err("at most 256 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery ", &h));
        assert!(!verify_password("x", "not a phc string"));
        // Salted: the same password hashes differently each time.
        assert_ne!(h, hash_password("correct horse battery"));
    }

    #[test]
    fn keys_and_tokens_are_random_and_hash_stably() {
        let (k1, shown) = new_api_key();
        let (k2, _) = new_api_key();
        assert_ne!(k1, k2);
        assert!(k1.starts_with(KEY_PREFIX) && k1.len() == 3 + 43, "{k1}");
        assert!(k1.starts_with(&shown) && shown.len() == SHOWN_CHARS);
        assert_eq!(token_hash(&k1), token_hash(&k1));
        assert_ne!(token_hash(&k1), token_hash(&k2));
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(new_token(), new_token());
        assert_eq!(one_time_password().len(), 24);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").unwrap_err().contains("10"));
        assert!(check_new_password("long enough pw").is_ok());
    }
}
