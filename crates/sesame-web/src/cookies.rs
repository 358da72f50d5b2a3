//! Cookies (DESIGN §5.5): `__Host-` names on an https issuer without a path, `__Secure-`
//! with a path, plain names on http (loopback development). All are HttpOnly and
//! encrypted; the SSO session is `SameSite=Lax` so the redirect back from an RP carries it.

use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use url::Url;

/// How cookies are named and scoped for this issuer.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    prefix: &'static str,
    secure: bool,
    path: String,
}

/// The browser cookie: binds login flows to one browser.
pub const BROWSER: &str = "sesame_browser";
/// The SSO session cookie.
pub const SESSION: &str = "sesame_session";
/// The sealed authorization request of the latest flow.
pub const REQUEST: &str = "sesame_request";
/// The language chosen on a page.
pub const LANG: &str = "sesame_lang";
/// The device cookie: the numbers this browser completed a login as (DESIGN §5.4).
pub const DEVICE: &str = "sesame_device";

impl CookiePolicy {
    /// Derives names and flags from the issuer URL.
    pub fn for_issuer(issuer: &Url) -> Self {
        let secure = issuer.scheme() == "https";
        let path = issuer.path().trim_end_matches('/').to_owned();
        let prefix = match (secure, path.is_empty()) {
            (true, true) => "__Host-",
            (true, false) => "__Secure-",
            (false, _) => "",
        };
        Self {
            prefix,
            secure,
            path: if path.is_empty() { "/".into() } else { path },
        }
    }

    /// The full name of a cookie.
    pub fn name(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }

    /// A cookie with this policy's flags; `max_age` makes it outlive the browser session.
    pub fn build(
        &self,
        base: &str,
        value: String,
        max_age: Option<chrono::Duration>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::new(self.name(base), value);
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path(self.path.clone());
        if let Some(age) = max_age {
            cookie.set_max_age(time::Duration::seconds(age.num_seconds()));
        }
        cookie
    }

    /// A cookie that deletes `base`.
    pub fn removal(&self, base: &str) -> Cookie<'static> {
        let mut cookie = self.build(base, String::new(), None);
        cookie.make_removal();
        cookie
    }

    /// Reads a cookie's decrypted value.
    pub fn get(&self, jar: &PrivateCookieJar, base: &str) -> Option<String> {
        jar.get(&self.name(base)).map(|c| c.value().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(url: &str) -> Option<CookiePolicy> {
        Url::parse(url).ok().map(|u| CookiePolicy::for_issuer(&u))
    }

    #[test]
    fn prefixes_follow_the_issuer() {
        assert_eq!(
            policy("https://id.example").map(|p| p.name("x")),
            Some("__Host-x".into())
        );
        assert_eq!(
            policy("https://id.example/sesame").map(|p| p.name("x")),
            Some("__Secure-x".into())
        );
        assert_eq!(
            policy("http://127.0.0.1:8080").map(|p| p.name("x")),
            Some("x".into())
        );
    }

    #[test]
    fn session_cookie_flags() {
        let Some(p) = policy("https://id.example/sesame/") else {
            return;
        };
        let c = p.build(SESSION, "v".into(), None);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.path(), Some("/sesame"));
    }
}
