//! Settings → Audit log.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::audit_log;

use super::{Chrome, render};
use crate::domain::audit::{self, Filter};
use crate::domain::page::{Page, PageRequest};
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
    pub changes: Vec<(String, String, String)>,
    pub ip: String,
    pub user_agent: String,
}

fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl From<audit_log::Model> for AuditRow {
    fn from(r: audit_log::Model) -> Self {
        let diff: serde_json::Value = serde_json::from_str(&r.diff).unwrap_or_default();
        let changes = diff
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), show(v.get("before")), show(v.get("after"))))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: r.id,
            when: When::at(r.created_at),
            actor: format!("{} ({})", r.actor_label, r.actor_type),
            action: r.action,
            target: format!("{} {}", r.target_type, r.target_label),
            target_type: r.target_type,
            target_id: r.target_id.unwrap_or_default(),
            changes,
            ip: r.ip.unwrap_or_default(),
            user_agent: r.user_agent.unwrap_or_default(),
        }
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
        page: page.map(AuditRow::from),
        target_filter,
        filter_query,
    };
    render(StatusCode::OK, &page)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
