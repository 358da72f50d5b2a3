//! What can go wrong while serving a page, and the French page each failure shows.
//!
//! The detail of a failure is logged where it happens; the participant only sees what they can
//! act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::callback::CallbackRefusal;
use crate::pages;

/// A request the demo site could not serve.
#[derive(Debug)]
pub enum DemoError {
    /// Discovery or the JWKS could not be fetched: the provider is down or not started yet.
    Unavailable,
    /// The demo's own configuration is unusable (an issuer or base URL that does not parse).
    Misconfigured,
    /// The redirect back from the provider was refused before any back-channel call.
    Refused(CallbackRefusal),
    /// The provider answered the code exchange or userinfo call with an error or a token that
    /// does not verify.
    BadProviderAnswer,
    /// `/login` was given a `prompt` value that OpenID Connect does not define.
    UnknownPrompt,
}

impl From<CallbackRefusal> for DemoError {
    fn from(refusal: CallbackRefusal) -> Self {
        Self::Refused(refusal)
    }
}

impl DemoError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unavailable | Self::BadProviderAnswer => StatusCode::BAD_GATEWAY,
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Refused(_) | Self::UnknownPrompt => StatusCode::BAD_REQUEST,
        }
    }

    fn page(&self) -> String {
        match self {
            Self::Unavailable => pages::error(
                "Service indisponible",
                "Le service de connexion ne répond pas, réessayez dans un instant.",
                None,
            ),
            Self::Misconfigured => pages::error(
                "Site mal configuré",
                "Ce site de démonstration est mal configuré : son adresse ou celle du service \
                 de connexion est invalide.",
                None,
            ),
            Self::Refused(refusal) => refusal.page(),
            Self::BadProviderAnswer => pages::error(
                "Connexion impossible",
                "Le service de connexion a renvoyé une réponse que ce site ne peut pas \
                 accepter. Recommencez la connexion.",
                None,
            ),
            Self::UnknownPrompt => pages::error(
                "Demande invalide",
                "Le paramètre « prompt » doit valoir login, none, consent ou select_account.",
                None,
            ),
        }
    }
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        pages::html(self.status(), self.page())
    }
}
