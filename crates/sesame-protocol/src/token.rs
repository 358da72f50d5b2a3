//! The token endpoint's request and response (RFC 6749 §4.1.3, §4.1.4, §5.1; OIDC Core §3.1.3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{OAuthError, TokenErrorCode as Code};

/// The form body of a token request, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawTokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The form of a revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1) request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawTokenQuery {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl RawTokenRequest {
    /// RFC 6749 §3.2: "Parameters sent without a value MUST be treated as if they were
    /// omitted from the request."
    pub fn without_empty(self) -> Self {
        let keep = |v: Option<String>| v.filter(|v| !v.is_empty());
        Self {
            grant_type: keep(self.grant_type),
            code: keep(self.code),
            redirect_uri: keep(self.redirect_uri),
            code_verifier: keep(self.code_verifier),
            refresh_token: keep(self.refresh_token),
            scope: keep(self.scope),
            client_id: keep(self.client_id),
            client_secret: keep(self.client_secret),
        }
    }
}

/// How the client authenticated (RFC 6749 §2.3.1).
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// A public client names itself and proves nothing; PKCE does the proving.
    None {
        client_id: String,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientAuth::{}({})", self.method(), self.client_id())
    }
}

impl ClientAuth {
    /// The client the request speaks for.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id } => client_id,
        }
    }

    /// The `token_endpoint_auth_method` this corresponds to.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "client_secret_basic",
            Self::Post { .. } => "client_secret_post",
            Self::None { .. } => "none",
        }
    }

    /// The secret presented, if any.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { secret, .. } | Self::Post { secret, .. } => Some(secret),
            Self::None { .. } => None,
        }
    }
}

/// Reads the client's credentials from the `Authorization` header or the body.
/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
/// request."
pub fn client_auth(
    authorization: Option<&str>,
    body: &RawTokenRequest,
) -> Result<ClientAuth, OAuthError<Code>> {
    client_auth_from(
        authorization,
        body.client_id.as_deref(),
        body.client_secret.as_deref(),
    )
}

/// [`client_auth`] for any endpoint's form fields (token, revocation, introspection).
pub fn client_auth_from(
    authorization: Option<&str>,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<ClientAuth, OAuthError<Code>> {
    let basic = authorization.map(parse_basic).transpose()?;
    match (basic, form_secret) {
        (Some(_), Some(_)) => Err(invalid_client("more than one client authentication method")),
        (Some((client_id, secret)), None) => {
            if form_id.is_some_and(|id| id != client_id) {
                return Err(invalid_client("client_id does not match the credentials"));
            }
            Ok(ClientAuth::Basic { client_id, secret })
        }
        (None, Some(secret)) => {
            let client_id = form_id.ok_or_else(|| invalid_client("client_id is required"))?;
            Ok(ClientAuth::Post {
                client_id: client_id.to_owned(),
                secret: secret.to_owned(),
            })
        }
        (None, None) => {
            let client_id =
                form_id.ok_or_else(|| invalid_client("client authentication is required"))?;
            Ok(ClientAuth::None {
                client_id: client_id.to_owned(),
            })
        }
    }
}

/// RFC 6749 §2.3.1: the id and secret are form-urlencoded before the Basic encoding.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError<Code>> {
    let bad = || invalid_client("malformed Basic credentials");
    // RFC 7235 §2.1: the scheme name is case-insensitive.
    let (scheme, encoded) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(bad)
    };
    Ok((unescape(id)?, unescape(secret)?))
}

fn invalid_client(why: &str) -> OAuthError<Code> {
    OAuthError::new(Code::InvalidClient, why)
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: Option<&str>, secret: Option<&str>) -> RawTokenRequest {
        RawTokenRequest {
            client_id: id.map(Into::into),
            client_secret: secret.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn rfc6749_2_3_1_basic_is_form_encoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        let auth = client_auth(Some(&header), &body(None, None));
        assert_eq!(
            auth,
            Ok(ClientAuth::Basic {
                client_id: "my app".into(),
                secret: "s:cret".into()
            })
        );
    }

    #[test]
    fn rfc7235_2_1_scheme_is_case_insensitive() {
        let header = format!("basic {}", STANDARD.encode("a:b"));
        let auth = client_auth(Some(&header), &body(None, None));
        assert_eq!(auth.map(|a| a.method()), Ok("client_secret_basic"));
        let bearer = format!("Bearer {}", STANDARD.encode("a:b"));
        assert!(client_auth(Some(&bearer), &body(None, None)).is_err());
    }

    #[test]
    fn rfc6749_3_2_empty_parameters_count_as_absent() {
        let raw = RawTokenRequest {
            code_verifier: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(raw.without_empty().code_verifier, None);
    }

    #[test]
    fn rfc6749_2_3_two_methods_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let auth = client_auth(Some(&header), &body(Some("a"), Some("b")));
        assert!(auth.is_err_and(|e| e.error == Code::InvalidClient));
    }

    #[test]
    fn post_and_none_methods() {
        let post = client_auth(None, &body(Some("a"), Some("b")));
        assert_eq!(post.map(|a| a.method()), Ok("client_secret_post"));
        let none = client_auth(None, &body(Some("a"), None));
        assert_eq!(none.map(|a| a.method()), Ok("none"));
        assert!(client_auth(None, &body(None, None)).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let auth = ClientAuth::Post {
            client_id: "a".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
