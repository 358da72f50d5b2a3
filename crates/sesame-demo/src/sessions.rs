//! Server-side state of the demo site: logins in progress, open sessions and logouts waiting
//! for the browser to come back from the provider, all in memory, keyed by the random value of
//! the `demo_rp` cookie.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use openidconnect::{CsrfToken, Nonce, PkceCodeVerifier};

use crate::backchannel::LogoutTarget;
use crate::callback::same_secret;
use crate::identity::Identity;

/// The demo's cookie. The provider may run on the same host (another port), and cookies do not
/// separate ports, so this name must differ from the provider's.
pub const COOKIE_NAME: &str = "demo_rp";

/// How long a participant may take between `/login` and the redirect back.
const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a demo session lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a participant may take between `/logout` and the redirect back from the provider.
const LOGOUT_TTL: Duration = Duration::from_secs(10 * 60);
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

/// What a finished login leaves on the server: who logged in, and what the logouts need.
#[derive(Clone, Debug)]
pub struct LoggedIn {
    /// What the dashboard shows.
    pub identity: Identity,
    /// The ID token as received, sent back as `id_token_hint` on logout.
    pub id_token: String,
    /// The `sid` claim of the ID token, which a back-channel logout may name.
    pub sid: Option<String>,
}

struct OpenSession {
    login: LoggedIn,
    opened: Instant,
}

struct PendingLogout {
    state: CsrfToken,
    started: Instant,
}

#[derive(Default)]
struct Maps {
    pending: HashMap<String, PendingLogin>,
    open: HashMap<String, OpenSession>,
    logouts: HashMap<String, PendingLogout>,
}

/// Logins in progress, open sessions and logouts in progress of this process.
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

    /// Opens a session for `login` and returns its new cookie value.
    pub fn open(&self, login: LoggedIn) -> String {
        let id = new_id();
        let mut maps = self.lock();
        maps.open.retain(|_, s| s.opened.elapsed() < SESSION_TTL);
        maps.open.insert(
            id.clone(),
            OpenSession {
                login,
                opened: Instant::now(),
            },
        );
        id
    }

    /// The identity of the open session `id`, if any.
    pub fn identity(&self, id: &str) -> Option<Identity> {
        let maps = self.lock();
        let session = maps.open.get(id)?;
        (session.opened.elapsed() < SESSION_TTL).then(|| session.login.identity.clone())
    }

    /// Forgets the session `id` and returns its ID token, expired or not, for the logout at
    /// the provider.
    pub fn close(&self, id: &str) -> Option<String> {
        self.lock().open.remove(id).map(|s| s.login.id_token)
    }

    /// Forgets every session `target` names and returns how many there were: those with its
    /// `sid` (and its `sub`, if it has one too), or else all those of its `sub`.
    pub fn close_matching(&self, target: &LogoutTarget) -> usize {
        let mut maps = self.lock();
        let before = maps.open.len();
        maps.open.retain(|_, session| {
            !target.names(session.login.sid.as_deref(), &session.login.identity.sub)
        });
        before - maps.open.len()
    }

    /// Remembers the `state` sent to the provider's logout endpoint and returns the cookie
    /// value that finds it again when the browser comes back.
    pub fn start_logout(&self, state: CsrfToken) -> String {
        let id = new_id();
        let mut maps = self.lock();
        maps.logouts.retain(|_, l| l.started.elapsed() < LOGOUT_TTL);
        let started = Instant::now();
        maps.logouts
            .insert(id.clone(), PendingLogout { state, started });
        id
    }

    /// Whether `state` is the one sent by the logout in progress for `id`; that logout is
    /// forgotten either way. `None` when there is no such logout (or it expired).
    pub fn finish_logout(&self, id: &str, state: &str) -> Option<bool> {
        let logout = self.lock().logouts.remove(id)?;
        (logout.started.elapsed() < LOGOUT_TTL).then(|| same_secret(logout.state.secret(), state))
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

    fn login(sub: &str, sid: Option<&str>) -> LoggedIn {
        LoggedIn {
            identity: Identity::with_subject(sub),
            id_token: format!("token-of-{sub}"),
            sid: sid.map(str::to_owned),
        }
    }

    fn target(sub: Option<&str>, sid: Option<&str>) -> LogoutTarget {
        LogoutTarget {
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
        }
    }

    #[test]
    fn a_closed_session_is_gone_and_gives_back_its_id_token() {
        let store = SessionStore::default();
        let id = store.open(login("abc", Some("s1")));
        assert_eq!(store.identity(&id).map(|i| i.sub), Some("abc".to_owned()));
        assert_eq!(store.close(&id).as_deref(), Some("token-of-abc"));
        assert!(store.identity(&id).is_none());
        assert!(store.close(&id).is_none());
    }

    #[test]
    fn a_sid_closes_only_its_sessions() {
        let store = SessionStore::default();
        let a = store.open(login("abc", Some("s1")));
        let b = store.open(login("abc", Some("s2")));
        let c = store.open(login("abc", None));
        assert_eq!(store.close_matching(&target(None, Some("s1"))), 1);
        assert!(store.identity(&a).is_none());
        assert!(store.identity(&b).is_some() && store.identity(&c).is_some());
    }

    #[test]
    fn a_sid_with_another_sub_closes_nothing() {
        let store = SessionStore::default();
        let a = store.open(login("abc", Some("s1")));
        assert_eq!(store.close_matching(&target(Some("xyz"), Some("s1"))), 0);
        assert_eq!(store.close_matching(&target(Some("abc"), Some("s1"))), 1);
        assert!(store.identity(&a).is_none());
    }

    #[test]
    fn a_sub_alone_closes_all_its_sessions() {
        let store = SessionStore::default();
        let a = store.open(login("abc", Some("s1")));
        let b = store.open(login("abc", None));
        let other = store.open(login("xyz", Some("s3")));
        assert_eq!(store.close_matching(&target(Some("abc"), None)), 2);
        assert!(store.identity(&a).is_none() && store.identity(&b).is_none());
        assert!(store.identity(&other).is_some());
    }

    #[test]
    fn a_logout_state_is_checked_once() {
        let store = SessionStore::default();
        let id = store.start_logout(CsrfToken::new("st".to_owned()));
        assert_eq!(store.finish_logout(&id, "other"), Some(false));
        assert_eq!(store.finish_logout(&id, "st"), None);
        let id = store.start_logout(CsrfToken::new("st".to_owned()));
        assert_eq!(store.finish_logout("unknown", "st"), None);
        assert_eq!(store.finish_logout(&id, "st"), Some(true));
    }

    #[test]
    fn the_cookie_is_http_only_and_lax() {
        let cookie = cookie("x".to_owned(), false);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
    }
}
