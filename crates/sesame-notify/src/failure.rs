//! Reading a sending failure in words that never repeat the address: the I/O error under a
//! client's error, and the shape of a failed HTTP call.

use crate::SendError;

/// The kind of the first I/O error among `error`'s causes.
pub(crate) fn io_error_kind(
    error: &(dyn std::error::Error + 'static),
) -> Option<std::io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// Who an HTTP sender talks to, as its failures name it.
pub(crate) struct Peer {
    /// "the relying party"
    pub(crate) who: &'static str,
    /// What the request is: "back-channel", "SMS".
    pub(crate) request: &'static str,
    /// What a connection or exchange error is about: "back-channel", "SMS operator".
    pub(crate) link: &'static str,
}

/// A failed HTTP call: a timeout or a broken connection may pass on a retry; a request
/// that cannot be built will not.
pub(crate) fn http_failure(error: &reqwest::Error, peer: &Peer) -> SendError {
    if error.is_timeout() {
        return SendError::Transient(format!("{} did not answer in time", peer.who));
    }
    if error.is_builder() {
        return SendError::Permanent(format!("the {} request could not be built", peer.request));
    }
    let stage = if error.is_connect() {
        "connection"
    } else {
        "exchange"
    };
    let reason = match io_error_kind(error) {
        Some(kind) => format!("{} {stage} error: {kind}", peer.link),
        None => format!("{} {stage} error", peer.link),
    };
    SendError::Transient(reason)
}
