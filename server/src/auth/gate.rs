//! The one check every entry point asks: who is this request, and may it do what it asks?
//! API keys (a bearer token: `--api-key` ones or keys made in the UI, with scopes) for
//! clients; session cookies for people. With authentication off (the loopback single-user
//! default) everyone is the local admin, and ingest is open unless `--api-key` is given.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::types::{KeyScopes, Principal, Role};

use super::secret::{token_hash, verify_password};
use super::static_keys::{bearer, ApiKeys};
use crate::store::access::{AccessStore, UserRow};
use crate::store::now_ms;

/// The cookie a browser session lives in.
pub const SESSION_COOKIE: &str = "sightline_session";
/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a key lookup (found or not) is reused: ingest checks a key per request, and a
/// database read each time would cost more than the check is worth. Revoking a key in this
/// process forgets it at once; another process sharing the database sees it within this time.
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// Failed sign-ins per user name before it is locked for `LOCKOUT`.
const MAX_FAILURES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// What an API key is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ingest,
    Read,
    /// Either: lookups every client needs (the SDK's experiment and server-info calls).
    Any,
}

impl Scope {
    fn allowed_by(self, scopes: KeyScopes) -> bool {
        match self {
            Scope::Ingest => scopes.ingest,
            Scope::Read => scopes.read,
            Scope::Any => scopes.ingest || scopes.read,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Any => "ingest or read",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("missing or invalid API key: send Authorization: Bearer <key>")]
    BadKey,
    #[error("this API key lacks the {0} scope")]
    Scope(&'static str),
    #[error("access check failed: {0}")]
    Unavailable(String),
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("wrong user name or password")]
    Invalid,
    #[error("too many failed sign-ins; try again in {0} minutes")]
    Locked(u64),
    #[error("sign-in unavailable: {0}")]
    Unavailable(String),
}

#[derive(Clone, Copy)]
struct CachedKey {
    found: Option<(i64, KeyScopes)>,
    at: Instant,
}

struct Failures {
    count: u32,
    since: Instant,
}

pub struct Gate {
    enabled: bool,
    static_keys: ApiKeys,
    store: Arc<dyn AccessStore>,
    keys: Mutex<HashMap<String, CachedKey>>,
    failures: Mutex<HashMap<String, Failures>>,
    /// A hash to verify against when the user name is unknown, so a wrong name takes as
    /// long as a wrong password (no probing for names by timing).
    decoy_hash: String,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("enabled", &self.enabled)
            .field("static_keys", &self.static_keys)
            .finish_non_exhaustive()
    }
}

impl Gate {
    pub fn new(enabled: bool, static_keys: ApiKeys, store: Arc<dyn AccessStore>) -> Gate {
        Gate {
            enabled,
            static_keys,
            store,
            keys: Mutex::default(),
            failures: Mutex::default(),
            decoy_hash: super::secret::hash_password("no user has this password"),
        }
    }

    /// Whether people must sign in and clients must send keys.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn store(&self) -> &Arc<dyn AccessStore> {
        &self.store
    }

    pub fn static_key_count(&self) -> usize {
        self.static_keys.len()
    }

    /// The principal of the loopback single-user mode.
    pub fn local_user() -> Principal {
        Principal {
            username: "local".into(),
            role: Role::Admin,
            auth_enabled: false,
            must_change_password: false,
        }
    }

    /// Checks a client's `Authorization` header for `need`. Open when authentication is off
    /// and no `--api-key` is set.
    ///
    /// # Errors
    /// `BadKey` for a missing or unknown key, `Scope` for a key without `need`.
    pub async fn check_key(&self, authorization: Option<&str>, need: Scope) -> Result<(), Denied> {
        if !self.enabled && self.static_keys.is_empty() {
            return Ok(());
        }
        let token = authorization.and_then(bearer).ok_or(Denied::BadKey)?;
        if self.static_keys.matches(token) {
            return Ok(());
        }
        match self.stored_key(token).await? {
            Some(scopes) if need.allowed_by(scopes) => Ok(()),
            Some(_) => Err(Denied::Scope(need.as_str())),
            None => Err(Denied::BadKey),
        }
    }

    /// Whether a request carries a bearer token at all (a client, not a browser).
    pub fn has_bearer(authorization: Option<&str>) -> bool {
        authorization.and_then(bearer).is_some()
    }

    async fn stored_key(&self, token: &str) -> Result<Option<KeyScopes>, Denied> {
        if !token.starts_with(super::secret::KEY_PREFIX) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let cached = self.keys.lock().expect("key cache").get(&hash).copied();
        if let Some(c) = cached.filter(|c| c.at.elapsed() < KEY_CACHE_TTL) {
            return Ok(c.found.map(|(_, s)| s));
        }
        let row = self
            .store
            .api_key_by_hash(&hash)
            .await
            .map_err(|e| Denied::Unavailable(e.to_string()))?;
        let found = row.map(|r| (r.id, r.scopes));
        if let Some((id, _)) = found {
            // "Last used" to the key-cache's precision; a failure here is not the client's.
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_api_key(id, now_ms()).await {
                    tracing::debug!(error = %e, "Could not record an API key's last use.");
                }
            });
        }
        let mut keys = self.keys.lock().expect("key cache");
        if keys.len() > 10_000 {
            // Random tokens from a scanner must not grow this without bound.
            keys.clear();
        }
        keys.insert(
            hash,
            CachedKey {
                found,
                at: Instant::now(),
            },
        );
        Ok(found.map(|(_, s)| s))
    }

    /// Forgets cached key lookups (after a revocation).
    pub fn forget_keys(&self) {
        self.keys.lock().expect("key cache").clear();
    }

    /// The user a session cookie's token belongs to, if the session is live.
    pub async fn session(&self, token: &str) -> Result<Option<Principal>, Denied> {
        let user = self
            .store
            .session_user(&token_hash(token), now_ms())
            .await
            .map_err(|e| Denied::Unavailable(e.to_string()))?;
        Ok(user.map(|u| principal(&u)))
    }

    /// Checks a password and opens a session; answers its token.
    ///
    /// # Errors
    /// `Invalid` for a wrong name or password or a disabled account (one message for all,
    /// so a caller learns nothing about which), `Locked` after repeated failures.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<String, SignInError> {
        let username = username.trim();
        if let Some(minutes) = self.locked(username) {
            return Err(SignInError::Locked(minutes));
        }
        let user = self
            .store
            .user_by_name(username)
            .await
            .map_err(|e| SignInError::Unavailable(e.to_string()))?;
        let hash = user
            .as_ref()
            .map_or(self.decoy_hash.clone(), |u| u.password_hash.clone());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        let user = match user {
            Some(u) if ok && u.disabled_ms.is_none() => u,
            _ => {
                self.failed(username);
                return Err(SignInError::Invalid);
            }
        };
        self.failures.lock().expect("failures").remove(username);
        let token = super::secret::new_token();
        let now = now_ms();
        self.store
            .create_session(
                &token_hash(&token),
                user.id,
                now,
                now + SESSION_TTL.as_millis() as i64,
            )
            .await
            .map_err(|e| SignInError::Unavailable(e.to_string()))?;
        tracing::info!(user = %user.username, "Signed in.");
        Ok(token)
    }

    pub async fn sign_out(&self, token: &str) {
        if let Err(e) = self.store.delete_session(&token_hash(token)).await {
            tracing::warn!(error = %e, "Could not end a session.");
        }
    }

    fn locked(&self, username: &str) -> Option<u64> {
        let failures = self.failures.lock().expect("failures");
        let f = failures.get(username)?;
        let left = LOCKOUT.checked_sub(f.since.elapsed())?;
        (f.count >= MAX_FAILURES).then(|| left.as_secs().div_ceil(60).max(1))
    }

    fn failed(&self, username: &str) {
        let mut failures = self.failures.lock().expect("failures");
        if failures.len() > 10_000 {
            failures.retain(|_, f| f.since.elapsed() < LOCKOUT);
        }
        let f = failures.entry(username.to_string()).or_insert(Failures {
            count: 0,
            since: Instant::now(),
        });
        if f.since.elapsed() >= LOCKOUT {
            *f = Failures {
                count: 0,
                since: Instant::now(),
            };
        }
        f.count += 1;
        if f.count == MAX_FAILURES {
            tracing::warn!(user = %username, "Sign-in locked after repeated failures.");
        }
    }
}

pub fn principal(u: &UserRow) -> Principal {
    Principal {
        username: u.username.clone(),
        role: u.role,
        auth_enabled: true,
        must_change_password: u.must_change_password,
    }
}
