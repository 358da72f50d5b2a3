//! Scopes Sesame knows (OIDC Core §5.4 plus the cohort's own).

/// Every scope Sesame can grant, in the order discovery lists them.
pub const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "cohort",
    "offline_access",
];

/// Keeps the requested scopes that Sesame knows and the client may ask for, in request
/// order and without repeats. Unknown or forbidden scopes are dropped, not refused.
pub fn grantable(requested: &str, allowed: &[String]) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        let known = KNOWN_SCOPES.contains(&scope);
        let permitted = scope == "openid" || allowed.iter().any(|a| a == scope);
        if known && permitted && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_forbidden_scopes_are_dropped() {
        let allowed = vec!["profile".to_owned(), "email".to_owned()];
        let got = grantable("openid  email cohort bogus email", &allowed);
        assert_eq!(got, vec!["openid", "email"]);
    }
}
