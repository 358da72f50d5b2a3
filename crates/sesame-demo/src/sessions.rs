//! Server-side state of the demo site: logins in progress and open sessions, both in memory,
//! keyed by the random value of the `demo_rp` cookie.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use openidconnect::{CsrfToken, Nonce, PkceCodeVerifier};

use crate::identity::Identity;

/// The demo's cookie. The provider may run on the same host (another port), and cookies do not
/// separate ports, so this name must differ from the provider's.
pub const COOKIE_NAME: &str = "demo_rp";

/// How long a participant may take between `/login` and the redirect back.
const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a demo session lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// Bytes of randomness in a cookie value.
const SESSION_ID_BYTES: u32 = 32;

/// What `/login` must remember until the redirect back.
pub struct PendingLogin {
    /// The `state` sent with the authorization request.
    pub state: CsrfToken,
    /// The `nonce` the ID token must carry.
    pub nonce: Nonce,
    /// The PKCE verifier sent with the code exchange.
    pub pkce_verifier: PkceCodeVerifier,
    started: Instant,
}

impl PendingLogin {
    /// Remembers the secrets of one authorization request.
    pub fn new(state: CsrfToken, nonce: Nonce, pkce_verifier: PkceCodeVerifier) -> Self {
        Self {
            state,
            nonce,
            pkce_verifier,
            started: Instant::now(),
        }
    }
}

struct OpenSession {
    identity: Identity,
    opened: Instant,
}

#[derive(Default)]
struct Maps {
    pending: HashMap<String, PendingLogin>,
    open: HashMap<String, OpenSession>,
}

/// Logins in progress and open sessions of this process.
#[derive(Default)]
pub struct SessionStore {
    maps: Mutex<Maps>,
}

impl SessionStore {
    /// Stores a login in progress and returns the cookie value that finds it again.
    pub fn start_login(&self, pending: PendingLogin) -> String {
        let id = new_id();
        let mut maps = self.lock();
        maps.pending.retain(|_, p| p.started.elapsed() < LOGIN_TTL);
        maps.pending.insert(id.clone(), pending);
        id
    }

    /// Removes and returns the login in progress for `id`, if it has not expired: each login
    /// can be finished once only.
    pub fn take_pending(&self, id: &str) -> Option<PendingLogin> {
        let pending = self.lock().pending.remove(id)?;
        (pending.started.elapsed() < LOGIN_TTL).then_some(pending)
    }

    /// Opens a session for `identity` and returns its new cookie value.
    pub fn open(&self, identity: Identity) -> String {
        let id = new_id();
        let mut maps = self.lock();
        maps.open.retain(|_, s| s.opened.elapsed() < SESSION_TTL);
        maps.open.insert(
            id.clone(),
            OpenSession {
                identity,
                opened: Instant::now(),
            },
        );
        id
    }

    /// The identity of the open session `id`, if any.
    pub fn identity(&self, id: &str) -> Option<Identity> {
        let maps = self.lock();
        let session = maps.open.get(id)?;
        (session.opened.elapsed() < SESSION_TTL).then(|| session.identity.clone())
    }

    /// Forgets the session `id`.
    pub fn close(&self, id: &str) {
        self.lock().open.remove(id);
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        // The maps stay consistent even if a holder panicked: every change is one call.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The cookie value sent by the browser, if any.
pub fn session_id(jar: &CookieJar) -> Option<&str> {
    jar.get(COOKIE_NAME).map(Cookie::value)
}

/// The cookie that carries `id`: host-only, `HttpOnly`, `SameSite=Lax` so that the redirect
/// back from the provider carries it, `Secure` when the site is served over https.
pub fn cookie(id: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE_NAME, id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// The cookie to remove on logout (same name and path as [`cookie`]).
pub fn removal() -> Cookie<'static> {
    Cookie::build(COOKIE_NAME).path("/").build()
}

fn new_id() -> String {
    CsrfToken::new_random_len(SESSION_ID_BYTES).into_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingLogin {
        let verifier = PkceCodeVerifier::new("v".repeat(43));
        PendingLogin::new(
            CsrfToken::new("s".to_owned()),
            Nonce::new("n".to_owned()),
            verifier,
        )
    }

    #[test]
    fn a_login_can_be_finished_once() {
        let store = SessionStore::default();
        let id = store.start_login(pending());
        assert!(store.take_pending(&id).is_some());
        assert!(store.take_pending(&id).is_none());
    }

    #[test]
    fn ids_are_long_and_distinct() {
        let store = SessionStore::default();
        let (a, b) = (store.start_login(pending()), store.start_login(pending()));
        assert_ne!(a, b);
        assert!(a.len() >= 43);
    }

    #[test]
    fn a_closed_session_is_gone() {
        let store = SessionStore::default();
        let id = store.open(Identity::with_subject("abc"));
        assert_eq!(store.identity(&id).map(|i| i.sub), Some("abc".to_owned()));
        store.close(&id);
        assert!(store.identity(&id).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_and_lax() {
        let cookie = cookie("x".to_owned(), false);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
    }
}
