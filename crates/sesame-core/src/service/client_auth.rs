//! Client authentication at the back-channel endpoints (RFC 6749 §2.3).

use sesame_protocol::error::{OAuthError, TokenErrorCode as Code};
use sesame_protocol::token::{ClientAuth, client_auth_from};

use super::{Provider, ServiceError, TokenError};
use crate::client::{AuthMethod, Client};

impl Provider {
    /// RFC 6749 §2.3 and §5.2: a failed client authentication is `invalid_client`, with
    /// 401 and a challenge when the client used the Authorization header.
    pub(crate) async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        form_id: Option<&str>,
        form_secret: Option<&str>,
    ) -> Result<Client, TokenError> {
        let auth = client_auth_from(authorization, form_id, form_secret).map_err(|body| {
            TokenError::Refused {
                status: 401,
                body,
                basic_challenge: authorization.is_some(),
            }
        })?;
        let basic = matches!(auth, ClientAuth::Basic { .. });
        let fail = || TokenError::Refused {
            status: 401,
            body: OAuthError::new(Code::InvalidClient, "client authentication failed"),
            basic_challenge: basic,
        };
        let client = self
            .deps
            .clients
            .get(auth.client_id())
            .await
            .map_err(ServiceError::from)?;
        let client = client.ok_or_else(fail)?;
        let method_ok = matches!(
            (&auth, client.auth_method),
            (ClientAuth::Basic { .. }, AuthMethod::ClientSecretBasic)
                | (ClientAuth::Post { .. }, AuthMethod::ClientSecretPost)
                | (ClientAuth::None { .. }, AuthMethod::None)
        );
        let secret_ok = match (auth.secret(), &client.secret) {
            (Some(presented), Some(digest)) => digest.matches(presented),
            (None, None) => true,
            _ => false,
        };
        if method_ok && secret_ok {
            Ok(client)
        } else {
            Err(fail())
        }
    }
}
