//! API keys given on the command line (`--api-key`): every scope, never shown in the UI.
//! Clients send a key as `Authorization: Bearer <key>` (the MLflow SDK sends
//! `MLFLOW_TRACKING_TOKEN` that way on every request). Keys are compared in constant time.

use crate::config::Secret;

#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

impl ApiKeys {
    pub fn new(keys: &[Secret]) -> ApiKeys {
        ApiKeys {
            keys: keys
                .iter()
                .map(|k| k.0.trim().as_bytes().to_vec())
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    /// Checks an `Authorization` header value. Always true when no keys are configured.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        if self.keys.is_empty() {
            return true;
        }
        authorization
            .and_then(bearer)
            .is_some_and(|token| self.matches(token))
    }

    /// Whether `token` is one of the keys.
    pub fn matches(&self, token: &str) -> bool {
        // Compare against every key without short-circuiting, so timing does not reveal
        // which key (or how much of one) matched.
        self.keys.iter().fold(false, |found, k| {
            found | constant_time_eq(k, token.as_bytes())
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_keys_are_checked_only_when_configured() {
        assert!(ApiKeys::default().allows(None));
        let keys = ApiKeys::new(&[Secret("secret-key-1".into())]);
        assert!(keys.allows(Some("Bearer secret-key-1")));
        assert!(keys.allows(Some("bearer  secret-key-1 ")));
        assert!(!keys.allows(Some("Bearer secret-key-2")));
        assert!(!keys.allows(Some("Basic c2VjcmV0")));
        assert!(!keys.allows(None));
    }
}
