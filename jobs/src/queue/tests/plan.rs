//! Query plans with realistic data: the fair claim reads `deliveries_flow`, settling goes by
//! primary key (`DELIVERY-ENGINE.md` §3 and §7: the wrong plans cost 10× and more).

use sqlx::Row as _;

use super::support::claim;
use super::support::{Row, TestDb};
use crate::queue::attempt::sql::{PG_SETTLE, SQLITE_SETTLE};
use crate::queue::fair_sql::{PG_CLAIM, SQLITE_CLAIM};
use crate::queue::sql::PG_BEGIN_PINNED;
use crate::queue::{DeliveryQueue, QueueConfig, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_uses_the_due_index_and_settling_the_primary_key() {
    for t in TestDb::all().await {
        let now = now_ms();
        // History dominates a real table: 19,000 finished rows, 1,000 pending (some retries).
        t.insert(
            18_000,
            Row {
                status: "succeeded",
                attempts: 1,
                next_attempt_at: now - 86_400_000,
                ..Row::due()
            },
        )
        .await;
        t.insert(
            1_000,
            Row {
                status: "failed",
                lane: 1,
                attempts: 8,
                next_attempt_at: now - 3_600_000,
                ..Row::due()
            },
        )
        .await;
        t.insert(
            600,
            Row {
                next_attempt_at: now - 1_000,
                ..Row::due()
            },
        )
        .await;
        t.insert(
            400,
            Row {
                lane: 1,
                attempts: 2,
                next_attempt_at: now + 600_000,
                ..Row::due()
            },
        )
        .await;
        t.exec("ANALYZE").await;
        let queue = DeliveryQueue::new(t.db.clone(), QueueConfig::default());

        match queue.pool() {
            crate::queue::sql::Pool::Sqlite(pool) => {
                let plan = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> {
                    rows.iter().map(|r| r.get::<String, _>(3)).collect()
                };
                let claim = plan(
                    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {SQLITE_CLAIM}")))
                        .bind(now + 60_000)
                        .bind(now)
                        .bind(1_i64)
                        .bind(0)
                        .bind(64)
                        .bind(1_i64)
                        .fetch_all(pool)
                        .await
                        .unwrap(),
                );
                assert!(
                    claim
                        .iter()
                        .any(|d| d.starts_with("SEARCH deliveries USING") && d.contains("INDEX deliveries_flow")),
                    "{claim:?}"
                );
                assert!(
                    !claim.iter().any(|d| d.starts_with("SCAN deliveries")),
                    "claim scans: {claim:?}"
                );
                assert!(
                    !claim.iter().any(|d| d.contains("TEMP B-TREE")),
                    "claim sorts: {claim:?}"
                );
                let ack = plan(
                    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {SQLITE_SETTLE}")))
                        .bind("[[1,1,\"succeeded\",0,1,200,null,0],[2,1,\"pending\",5,1,500,\"http_status\",0]]")
                        .bind(now)
                        .fetch_all(pool)
                        .await
                        .unwrap(),
                );
                assert!(ack.iter().any(|d| d.contains("SCAN json_each")), "{ack:?}");
                assert!(ack.iter().any(|d| d.contains("USING INTEGER PRIMARY KEY")), "{ack:?}");
                assert!(
                    !ack.iter()
                        .any(|d| d.contains("deliveries_due") || d.contains("deliveries_lease")),
                    "{ack:?}"
                );
            }
            crate::queue::sql::Pool::Postgres(pool) => {
                let text = |rows: Vec<sqlx::postgres::PgRow>| -> String {
                    rows.iter()
                        .map(|r| r.get::<String, _>(0))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let claim = text(
                    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {PG_CLAIM}")))
                        .bind(now + 60_000)
                        .bind(now)
                        .bind(1_i64)
                        .bind(0_i32)
                        .bind(64_i64)
                        .bind(1_i64)
                        .fetch_all(pool)
                        .await
                        .unwrap(),
                );
                assert!(claim.contains("deliveries_flow"), "{claim}");
                let mut txn = pool.begin_with(PG_BEGIN_PINNED).await.unwrap();
                let ack = text(
                    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {PG_SETTLE}")))
                        .bind(vec![1_i64, 2])
                        .bind(vec![1_i64, 1])
                        .bind(vec!["succeeded", "pending"])
                        .bind(vec![0_i64, 5])
                        .bind(vec![1_i32, 1])
                        .bind(vec![Some(200_i32), Some(500)])
                        .bind(vec![None, Some("http_status")])
                        .bind(vec![false, false])
                        .bind(vec!["in_flight", "in_flight"])
                        .bind(now)
                        .fetch_all(&mut *txn)
                        .await
                        .unwrap(),
                );
                txn.rollback().await.unwrap();
                assert!(ack.contains("Nested Loop") && ack.contains("deliveries_pkey"), "{ack}");
            }
            other => panic!("unexpected pool {other:?}"),
        }

        // And the claim really takes only due rows, first attempts first, within the cap.
        let claimed = claim(&queue, 1_000, now_ms(), now_ms() + 60_000).await;
        assert_eq!(
            claimed.len(),
            8 * crate::queue::gate::PIPELINE,
            "the webhook's pipeline: its cap of 8 is held by the send gate"
        );
        assert!(claimed.iter().all(|c| c.lane == 0));
    }
}
