//! The OpenID Foundation conformance suite's provider checks, reproduced module by module
//! (the suite itself, Java and MongoDB, cannot run here). Each module of the Basic, Config,
//! Form Post, RP-Initiated Logout and Back-Channel Logout plans is a function of
//! [`modules`]; the tests run each against Sesame and against the certified
//! node-oidc-provider (`peer/`), which calibrates them: a check that fails against the
//! peer is wrong.
//!
//! The harness plays the suite's parts: the relying party ([`Rp`]) and the participant's
//! browser ([`Target::interact`]). What the suite leaves to a person looking at a
//! screenshot (an error page, a logged-out page, a second login page) is read from the
//! page's `data-page` marker.

pub mod checks;
pub mod modules;
pub mod rp;
pub mod target;

pub use rp::{Delivery, Rp};
pub use target::{Target, TargetKind};

/// How a module ended, besides failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Not applicable, with the reason (the skip list).
    Skipped(&'static str),
}

/// The response mode a plan runs its modules in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Basic OP: the authorization response in the redirect's query.
    Query,
    /// Form Post OP: the response POSTed by the browser (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

/// Random text for `state`, `nonce` and PKCE verifiers.
pub fn random_text(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(out.len());
        let mut word = hasher.finish();
        for _ in 0..10 {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[(word % 64) as usize]));
            word /= 64;
        }
    }
    out
}
