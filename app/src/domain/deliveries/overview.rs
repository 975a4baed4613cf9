//! The account at a glance (the dashboard's landing page): attempts per hour, what waits for a
//! retry, and every webhook with its health, failing ones first.

use sea_orm::ConnectionTrait;

use super::chart::{self, Bucket, Range, Scope};
use super::health::{self, State, Summary};
use crate::domain::DomainResult;
use crate::domain::page::{PageRequest, Start};
use crate::domain::webhooks::{self, Webhook};

/// How many webhooks the overview lists (the webhook list pages through the rest).
pub const MAX_WEBHOOKS: u64 = 200;

/// What the overview shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub series: Vec<Bucket>,
    /// Deliveries waiting for a retry, across the account.
    pub retrying: u64,
    /// Failing and paused first, then healthy, without traffic, disabled; newest first within each.
    pub webhooks: Vec<(Webhook, Summary)>,
    /// Whether the account has more webhooks than are listed.
    pub more_webhooks: bool,
}

fn rank(s: State) -> u8 {
    match s {
        State::Failing { .. } | State::Paused { .. } => 0,
        State::Healthy => 1,
        State::NoTraffic => 2,
        State::Disabled => 3,
    }
}

/// The overview of an account.
///
/// # Errors
/// Database failure.
pub async fn overview(conn: &impl ConnectionTrait, account_id: i64, range: Range) -> DomainResult<Overview> {
    let req = PageRequest {
        limit: MAX_WEBHOOKS,
        start: Start::Newest,
    };
    let page = webhooks::list(conn, account_id, req).await?;
    let summaries = health::summaries(conn, &page.items).await?;
    let mut webhooks: Vec<(Webhook, Summary)> = page.items.into_iter().zip(summaries).collect();
    webhooks.sort_by_key(|(_, s)| rank(s.state));
    Ok(Overview {
        series: chart::series(conn, Scope::Account(account_id), range).await?,
        retrying: health::retrying(conn, account_id, None).await?,
        webhooks,
        more_webhooks: page.next_cursor.is_some(),
    })
}
