//! OAuth 2.0 and OpenID Connect wire types, error codes and the pure validation of
//! authorization requests. Nothing here does I/O.

pub mod authorize;
pub mod claims;
pub mod discovery;
pub mod error;
pub mod pkce;
pub mod scope;
pub mod token;

pub use error::{AuthorizeErrorCode, OAuthError, TokenErrorCode};
