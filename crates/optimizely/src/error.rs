//! The crate's errors. An [`Error`] says what went wrong as a [`ErrorKind`] (which decides
//! retries and exit codes) and how far the request got as a [`Phase`] (which decides whether a
//! create may have happened). Callers branch on these, never on message text. Messages are
//! for humans and never contain the token.

use std::fmt;
use std::sync::Arc;

/// What kind of failure this is. Exactly the six classes of the house style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The client was configured wrongly (bad URL, plain http to a remote host, bad token
    /// characters). Nothing was sent.
    Config,
    /// 401 or 403: the token is invalid, revoked, or has no access.
    Auth,
    /// 429 (or 503) still refused after every attempt, or a server-requested wait too long
    /// to honour.
    Throttled,
    /// A failure that may succeed later: 5xx, timeouts, connection errors.
    Transient,
    /// The API refused the request (4xx other than 401/403/429), including 404.
    Rejected,
    /// The client or the server broke the contract (e.g. an unreadable 2xx body).
    Internal,
}

impl ErrorKind {
    /// The lowercase name used in logs and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far the (last) request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Nothing reached the server (bad config, connection refused, DNS failure).
    NotSent,
    /// The request may have reached the server, but no answer came back (timeout, connection
    /// lost after writing). For a create this means the object may exist.
    MaybeSent,
    /// The server answered. `code`, `message` and `uuid` come from Optimizely's error
    /// envelope, `request_id` from the `x-request-id` header; all are what support asks for.
    Responded {
        /// HTTP status.
        status: u16,
        /// The envelope's `code`, e.g. `not_found`.
        code: Option<String>,
        /// The envelope's `message`.
        message: Option<String>,
        /// The envelope's `uuid` (support reference).
        uuid: Option<String>,
        /// The `x-request-id` response header.
        request_id: Option<String>,
    },
}

/// An error from the Optimizely client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .details.message)]
pub struct Error {
    /// Boxed so that `Result<T, Error>` stays small on the happy path.
    details: Box<Details>,
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug, Clone)]
struct Details {
    kind: ErrorKind,
    phase: Phase,
    /// The full human message (already scrubbed of the token).
    message: String,
    /// True when the request was a create (POST), whose outcome matters when unknown.
    non_idempotent: bool,
    attempts: u32,
    /// The items of a batch the server named as invalid (ODP's `detail.invalids`), by their
    /// index in the request.
    invalid_items: Vec<InvalidItem>,
}

/// One item of a batch request that the server refused, by its index in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidItem {
    /// Its index in the request's array.
    pub index: usize,
    /// The server's reason.
    pub reason: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, phase: Phase, message: impl Into<String>) -> Self {
        Error {
            details: Box::new(Details {
                kind,
                phase,
                message: message.into(),
                non_idempotent: false,
                attempts: 0,
                invalid_items: Vec::new(),
            }),
            source: None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, Phase::NotSent, message)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32, non_idempotent: bool) -> Self {
        self.details.attempts = attempts;
        self.details.non_idempotent = non_idempotent;
        self
    }

    pub(crate) fn with_invalid_items(mut self, items: Vec<InvalidItem>) -> Self {
        self.details.invalid_items = items;
        self
    }

    /// The items of a batch request the server named as invalid, by index (empty when it
    /// named none).
    pub fn invalid_items(&self) -> &[InvalidItem] {
        &self.details.invalid_items
    }

    pub(crate) fn map_message(mut self, f: impl FnOnce(String) -> String) -> Self {
        let message = std::mem::take(&mut self.details.message);
        self.details.message = f(message);
        self
    }

    /// The class of failure.
    pub fn kind(&self) -> ErrorKind {
        self.details.kind
    }

    /// How far the request got.
    pub fn phase(&self) -> &Phase {
        &self.details.phase
    }

    /// The human message (same as `Display`).
    pub fn message(&self) -> &str {
        &self.details.message
    }

    /// How many HTTP attempts were made (0 when nothing was tried).
    pub fn attempts(&self) -> u32 {
        self.details.attempts
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &self.details.phase {
            Phase::Responded { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Optimizely's error `code` (e.g. `not_found`), when it sent one.
    pub fn api_code(&self) -> Option<&str> {
        match &self.details.phase {
            Phase::Responded { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Optimizely's error `message`, when it sent one.
    pub fn api_message(&self) -> Option<&str> {
        match &self.details.phase {
            Phase::Responded { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// Optimizely's error `uuid` (the support reference), when it sent one.
    pub fn uuid(&self) -> Option<&str> {
        match &self.details.phase {
            Phase::Responded { uuid, .. } => uuid.as_deref(),
            _ => None,
        }
    }

    /// The `x-request-id` response header, when present.
    pub fn request_id(&self) -> Option<&str> {
        match &self.details.phase {
            Phase::Responded { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when a create was refused because the key or name is taken: a 400 or 409 whose
    /// message says "already exists". The API does not document this answer, so both statuses
    /// are accepted (docs/OPTIMIZELY-API.md#duplicates-and-uniqueness).
    pub fn is_duplicate(&self) -> bool {
        let Phase::Responded {
            status,
            code,
            message,
            ..
        } = &self.details.phase
        else {
            return false;
        };
        if *status != 400 && *status != 409 {
            return false;
        }
        let says = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().contains("already exists"))
        };
        says(message) || says(code)
    }

    /// True when a write may have been applied although it reported an error: the request was
    /// maybe sent (timeout, connection lost), or it was a create (POST) that got a 5xx answer.
    /// The server may have stored the object before failing, and the API has no idempotency
    /// keys, so the client never retries these itself; the caller re-lists and adopts.
    pub fn outcome_unknown(&self) -> bool {
        match &self.details.phase {
            Phase::MaybeSent => true,
            Phase::Responded { status, .. } => self.details.non_idempotent && *status >= 500,
            Phase::NotSent => false,
        }
    }
}

/// A failure of the transport (the layer below HTTP semantics).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The request never left (connection refused, DNS failure, TLS handshake failed).
    #[error("could not connect: {0}")]
    NotSent(String),
    /// The request may have been written before the failure (connection reset or closed
    /// while waiting for the answer, body read failure).
    #[error("connection lost: {0}")]
    MaybeSent(String),
    /// The server answered, but with a successful body larger than the request can
    /// legitimately get ([`crate::BodyLimit`]); the transport stopped reading it.
    #[error("the answer (HTTP {status}) is larger than {limit} bytes; stopped reading it")]
    TooLarge {
        /// HTTP status of the answer.
        status: u16,
        /// The limit it went over, in bytes.
        limit: u64,
    },
}

impl TransportError {
    /// The phase this failure leaves the request in.
    pub fn phase(&self) -> Phase {
        match self {
            TransportError::NotSent(_) => Phase::NotSent,
            TransportError::MaybeSent(_) => Phase::MaybeSent,
            TransportError::TooLarge { status, .. } => Phase::Responded {
                status: *status,
                code: None,
                message: None,
                uuid: None,
                request_id: None,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn responded(status: u16, message: &str) -> Error {
        Error::new(
            ErrorKind::Rejected,
            Phase::Responded {
                status,
                code: Some("bad_request".into()),
                message: Some(message.into()),
                uuid: Some("u-1".into()),
                request_id: Some("r-1".into()),
            },
            "x",
        )
    }

    #[test]
    fn duplicate_is_400_or_409_saying_already_exists() {
        assert!(responded(400, "Attribute key 'a' already exists").is_duplicate());
        assert!(responded(409, "An entity Already Exists").is_duplicate());
        assert!(!responded(400, "key is too long").is_duplicate());
        assert!(!responded(422, "already exists").is_duplicate());
    }

    #[test]
    fn accessors_read_the_phase() {
        let err = responded(404, "not found");
        assert!(err.is_not_found());
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.uuid(), Some("u-1"));
        assert_eq!(err.request_id(), Some("r-1"));
        assert_eq!(err.api_code(), Some("bad_request"));
        let err = Error::new(ErrorKind::Transient, Phase::MaybeSent, "timeout");
        assert_eq!(err.status(), None);
        assert!(err.outcome_unknown());
    }

    #[test]
    fn a_post_with_a_5xx_answer_has_an_unknown_outcome() {
        let err = Error::new(
            ErrorKind::Transient,
            Phase::Responded {
                status: 500,
                code: None,
                message: None,
                uuid: None,
                request_id: None,
            },
            "boom",
        );
        assert!(!err.clone().with_attempts(1, false).outcome_unknown());
        assert!(err.with_attempts(1, true).outcome_unknown());
    }
}
