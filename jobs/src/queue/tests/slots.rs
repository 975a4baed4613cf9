//! Send slots across processes (`delivery_slots`): two queues on one database (two processes,
//! each with its own claimer and send gates) share one webhook's in-flight cap.

use std::sync::Arc;

use super::support::{TestDb, claim};
use crate::queue::gate::{PIPELINE, Sending};
use crate::queue::{DeliveryQueue, QueueConfig, now_ms};

/// What `delivery_slots` holds for `queue`'s process: its slots of the test's webhook.
async fn granted(t: &TestDb, queue: &DeliveryQueue) -> i64 {
    t.scalar(&format!(
        "SELECT coalesce(sum(slots), -1) FROM delivery_slots WHERE webhook_id = {} AND claimer = {}",
        t.webhook_id,
        queue.claimer()
    ))
    .await
}

/// Puts the claimed rows in `queue`'s gates and starts as many requests as they allow.
fn start(queue: &DeliveryQueue, webhook: i64, rows: usize, cap: usize) -> Vec<Sending> {
    let gates = Arc::clone(queue.gates());
    for _ in 0..rows {
        gates.queue(webhook, cap);
    }
    let mut open = Vec::new();
    while gates.try_start(webhook) {
        open.push(Sending::adopt(&gates, webhook));
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_gets_its_share_of_a_busy_webhook_and_the_cap_holds() {
    for t in TestDb::all().await {
        let hook = t.webhook_id;
        t.insert_due(300).await;
        let a = DeliveryQueue::new(t.db.clone(), QueueConfig::default());
        let b = DeliveryQueue::new(t.db.clone(), QueueConfig::default());
        let now = now_ms();
        let lease = now + 60_000;

        // A alone takes the whole cap (8) and claims PIPELINE times that ahead.
        let first = claim(&a, 128, now, lease).await;
        assert_eq!(first.len(), 8 * PIPELINE, "{:?}", t.backend());
        assert_eq!(granted(&t, &a).await, 8);
        let a_open = start(&a, hook, first.len(), 8);
        assert_eq!(a_open.len(), 8, "A sends up to its grant");

        // B finds all eight slots held: it claims nothing, but asks for a share.
        assert!(claim(&b, 128, now, lease).await.is_empty());
        assert_eq!(granted(&t, &b).await, 0, "B's grant of nothing counts it in");

        // A's next claim shrinks its share to half; its stored grant still covers the eight
        // requests it has open, so B still gets nothing.
        claim(&a, 128, now, lease).await;
        assert_eq!(granted(&t, &a).await, 8);
        assert!(claim(&b, 128, now, lease).await.is_empty());

        // Once A's requests have ended, A keeps four and B gets the other four.
        drop(a_open);
        let a_open = start(&a, hook, 0, 4);
        assert_eq!(a_open.len(), 4, "A's gate follows its share");
        claim(&a, 128, now, lease).await;
        assert_eq!(granted(&t, &a).await, 4);
        let second = claim(&b, 128, now, lease).await;
        assert_eq!(second.len(), 4 * PIPELINE, "B claims PIPELINE times its four slots");
        assert_eq!(granted(&t, &b).await, 4);
        let b_open = start(&b, hook, second.len(), 4);
        assert_eq!(a_open.len() + b_open.len(), 8, "never more than the cap in all");

        // A process that stops gives its slots back; the other then takes the whole cap.
        drop(a_open);
        a.pool().give_back_slots(a.claimer(), &[]).await.unwrap();
        assert_eq!(granted(&t, &a).await, -1);
        drop(b_open);
        claim(&b, 128, now, lease).await;
        assert_eq!(granted(&t, &b).await, 8, "{:?}", t.backend());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_left_without_a_share_hands_its_buffered_rows_back() {
    for t in TestDb::all().await {
        let hook = t.webhook_id;
        t.insert_due(40).await;
        let a = DeliveryQueue::new(t.db.clone(), QueueConfig::default());
        let now = now_ms();
        let rows = claim(&a, 128, now, now + 60_000).await;
        let _open = start(&a, hook, rows.len(), 8);
        assert!(!a.gates().held_back(hook, now), "{:?}", t.backend());
        let before = a.gates().pauses();
        a.gates().widen(&[(hook, 0)].into_iter().collect());
        assert!(a.gates().pauses() > before, "the backend rescans its buffer");
        assert!(
            a.gates().held_back(hook, now),
            "rows with no slot to go through go back"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_round_trip_claim_takes_rows_within_a_fresh_grant_and_leaves_the_rest() {
    for t in TestDb::all().await {
        let a = DeliveryQueue::new(t.db.clone(), QueueConfig::default());
        let crate::queue::sql::Pool::Postgres(pool) = a.pool().clone() else {
            continue; // SQLite claims in process: every claim is the locked one
        };
        let hook = t.webhook_id;
        t.insert_due(200).await;
        let now = now_ms();
        let ask = crate::queue::fair::Ask {
            limit: 128,
            retries: 0,
            now,
            lease_until: now + 60_000,
            cursor: 0,
            claimer: a.claimer(),
        };
        let fast = crate::queue::fast::claim(&pool, &ask, a.config(), a.gates())
            .await
            .unwrap();
        assert!(
            fast.rest && fast.got.rows.is_empty(),
            "no grant yet: the locked claim decides"
        );
        assert_eq!(claim(&a, 128, now, now + 60_000).await.len(), 8 * PIPELINE);
        assert_eq!(granted(&t, &a).await, 8);

        let fast = crate::queue::fast::claim(&pool, &ask, a.config(), a.gates())
            .await
            .unwrap();
        assert!(!fast.rest);
        assert_eq!(
            fast.got.rows.len(),
            8 * PIPELINE,
            "PIPELINE times the grant, none of it busy here"
        );
        assert_eq!(fast.got.caps.get(&hook), Some(&8));
        let _open = start(&a, hook, 8 * PIPELINE, 8);
        let fast = crate::queue::fast::claim(&pool, &ask, a.config(), a.gates())
            .await
            .unwrap();
        assert!(fast.got.rows.is_empty() && fast.got.held, "the pipeline is full");
        t.exec(&format!("UPDATE webhooks SET rate_limit = 5 WHERE id = {hook}"))
            .await;
        let fast = crate::queue::fast::claim(&pool, &ask, a.config(), a.gates())
            .await
            .unwrap();
        assert!(fast.rest, "a rate-limited webhook needs the locked claim");
    }
}
