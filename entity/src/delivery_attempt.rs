use sea_orm::entity::prelude::*;

/// One HTTP attempt of a delivery: what was sent (secrets redacted) and what came back
/// (body truncated to 4 KB), or why it did not deliver (`error_kind`, see [`ErrorKind`]).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub delivery_id: i64,
    /// The delivery's webhook, copied so health and charts read attempts by webhook and time.
    pub webhook_id: i64,
    pub attempt: i32,
    pub trigger: String,
    pub started_at: i64,
    pub duration_ms: i32,
    #[sea_orm(column_type = "Text")]
    pub request_headers: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub request_body: Option<String>,
    pub response_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_headers: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    pub error_kind: Option<ErrorKind>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Why an attempt did not deliver (`None` in the column: it did). Stored as [`ErrorKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ErrorKind {
    /// No complete response head within the webhook's timeout (or the connect timeout).
    #[sea_orm(string_value = "timeout")]
    Timeout,
    /// The connection could not be made or broke (refused, reset, closed early).
    #[sea_orm(string_value = "connect")]
    Connect,
    /// The host name did not resolve.
    #[sea_orm(string_value = "dns")]
    Dns,
    /// The TLS handshake failed (bad certificate, not TLS, protocol error).
    #[sea_orm(string_value = "tls")]
    Tls,
    /// Herald refused to send: a forbidden target (SSRF guard) or a request that cannot be built
    /// (not an http(s) URL, an unusable stored secret). Repeating cannot change the outcome.
    #[sea_orm(string_value = "blocked")]
    Blocked,
    /// A response arrived with a status other than 2xx.
    #[sea_orm(string_value = "http_status")]
    HttpStatus,
    /// Herald could not make the attempt (e.g. the webhook's stored configuration could not be
    /// read): recorded so the history says why, and retried on the schedule.
    #[sea_orm(string_value = "internal")]
    Internal,
}

impl ErrorKind {
    /// The stored name: `timeout`, `connect`, `dns`, `tls`, `blocked`, `http_status`, `internal`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Blocked => "blocked",
            Self::HttpStatus => "http_status",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
