//! Settings → Audit log.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use serde_json::Value;

use entity::audit_log;

use super::{Chrome, render};
use crate::domain::audit::{self, Filter};
use crate::domain::page::{Page, PageRequest};
use crate::domain::visits::user_agent_summary;
use crate::domain::{DomainError, stored_json};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

/// An audit row as pages show it (the audit log and a webhook's history tab).
pub struct AuditRow {
    pub id: i64,
    pub when: When,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub target_type: String,
    pub target_id: String,
    pub changes: Vec<Change>,
    pub ip: String,
    /// A few words: browser and OS, or tool and version (the full string is [`Self::user_agent`]).
    pub user_agent_summary: String,
    pub user_agent: String,
}

/// One changed field of an audit row: the items added to and removed from a list, or the whole
/// value before and after for anything else (and for a list that was only reordered).
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Change {
    /// Whether the change is shown item by item.
    #[must_use]
    pub fn by_item(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(Some(v))))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

fn items(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|list| list.iter().map(|i| show(Some(i))).collect())
        .unwrap_or_default()
}

impl TryFrom<audit_log::Model> for AuditRow {
    type Error = DomainError;

    fn try_from(r: audit_log::Model) -> Result<Self, DomainError> {
        let diff: Value = stored_json::parse("audit_log.diff", r.id, &r.diff)?;
        let changes = diff
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| Change {
                        field: k.clone(),
                        before: show(v.get("before")),
                        after: show(v.get("after")),
                        added: items(v.get("added")),
                        removed: items(v.get("removed")),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let user_agent = r.user_agent.unwrap_or_default();
        Ok(Self {
            id: r.id,
            when: When::at(r.created_at),
            actor: format!("{} ({})", r.actor_label, r.actor_type),
            action: r.action,
            target: format!("{} {}", r.target_type, r.target_label),
            target_type: r.target_type,
            target_id: r.target_id.unwrap_or_default(),
            changes,
            ip: r.ip.unwrap_or_default(),
            user_agent_summary: user_agent_summary(&user_agent),
            user_agent,
        })
    }
}

#[derive(Template)]
#[template(path = "audit_log.html")]
struct AuditPage {
    chrome: Chrome,
    page: Page<AuditRow>,
    target_filter: Option<String>,
    /// Keeps the target filter on the "older" link.
    filter_query: String,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    cursor: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let filter = Filter {
        target_type: q.target_type.filter(|t| !t.is_empty()),
        target_id: q.target_id.filter(|t| !t.is_empty()),
    };
    let page = audit::list(
        &state.db,
        user.account.id,
        &filter,
        PageRequest::parse(None, q.cursor.as_deref())?,
    )
    .await?;
    let target_filter = filter
        .target_type
        .as_ref()
        .map(|t| format!("{t} {}", filter.target_id.clone().unwrap_or_default()));
    let filter_query = match (&filter.target_type, &filter.target_id) {
        (Some(t), Some(id)) => format!("&target_type={}&target_id={}", urlencode(t), urlencode(id)),
        (Some(t), None) => format!("&target_type={}", urlencode(t)),
        _ => String::new(),
    };
    let page = AuditPage {
        chrome: Chrome::new(&req, &user, "audit-log"),
        page: page.try_map(AuditRow::try_from)?,
        target_filter,
        filter_query,
    };
    render(StatusCode::OK, &page)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
