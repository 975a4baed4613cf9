//! Outcomes: every row once, the retry schedule, Retry-After, abort, wake-ups.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use apalis::prelude::{AbortError, RetryAfterError};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::support::TestDb;
use super::worker::{Behaviour, fast_cfg, start};
use crate::queue::{DeliveryQueue, QueueConfig, notify_sql};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_row_is_delivered_exactly_once() {
    for t in TestDb::all().await {
        let ids = t.insert_due(2_000).await;
        // Two queue handles = two processes competing for the same rows.
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(16));
        let other = DeliveryQueue::new(t.db.clone(), fast_cfg(16));
        let b = Behaviour::ok();
        let (w, w2) = (start(&queue, 16, &b), start(&other, 16, &b));
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let counts = t.counts().await;
            let in_flight = counts.get("in_flight").copied().unwrap_or(0);
            let bound = i64::try_from(2 * queue.config().max_outstanding).unwrap();
            assert!(
                in_flight <= bound,
                "{:?}: {in_flight} in flight, more than max_outstanding",
                t.backend()
            );
            if counts.get("succeeded") == Some(&2_000) {
                break;
            }
            assert!(Instant::now() < end, "{:?}: timed out, {counts:?}", t.backend());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        w.stop().await;
        w2.stop().await;

        let calls = b.calls();
        let mut per_id: HashMap<i64, usize> = HashMap::new();
        for c in &calls {
            *per_id.entry(c.d.id).or_default() += 1;
            assert_eq!((c.d.attempt, c.d.lane, c.d.trigger.as_str()), (1, 0, "scheduled"));
            assert_eq!((c.d.account_id, c.d.webhook_id), (t.account_id, t.webhook_id));
        }
        assert_eq!(calls.len(), 2_000, "{:?}: one call per row", t.backend());
        assert!(
            ids.iter().all(|id| per_id.get(id) == Some(&1)),
            "{:?}: a row ran twice or never",
            t.backend()
        );
        for r in t.rows().await {
            assert_eq!(
                (r.status.as_str(), r.attempts, r.lease_until),
                ("succeeded", 1, None),
                "{r:?}"
            );
        }
        assert_eq!((queue.retries_in_flight(), other.retries_in_flight()), (0, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_follow_the_schedule_then_fail() {
    for t in TestDb::all().await {
        let ids = t.insert_due(6).await;
        // Even ids fail once and then succeed; odd ids always fail.
        let b = Behaviour::new(|d| async move {
            if d.id % 2 == 0 && d.attempt > 1 {
                Ok(())
            } else {
                Err("HTTP 500".into())
            }
        });
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let w = start(&queue, 4, &b);
        t.wait_counts(Duration::from_secs(20), &[("failed", 3), ("succeeded", 3)])
            .await;
        w.stop().await;

        for id in ids {
            let row = t.row(id).await;
            let calls = b.calls_of(id);
            let expected = if id % 2 == 0 { ("succeeded", 2) } else { ("failed", 3) };
            assert_eq!(
                (row.status.as_str(), row.attempts),
                expected,
                "{:?}: {row:?}",
                t.backend()
            );
            assert_eq!(calls.len(), usize::try_from(expected.1).unwrap());
            for (n, c) in calls.iter().enumerate() {
                assert_eq!(c.d.attempt, i32::try_from(n).unwrap() + 1);
                assert_eq!(c.d.lane, i32::from(n > 0), "retries run in lane 1");
            }
            // Schedule 0, 50 ms, 100 ms with ±20 % jitter (less a little clock rounding).
            for (pair, least) in calls.windows(2).zip([38, 78]) {
                let gap = pair[1].started - pair[0].ended;
                assert!(
                    gap >= Duration::from_millis(least),
                    "{:?}: gap {gap:?} < {least} ms",
                    t.backend()
                );
            }
        }
        assert_eq!(queue.retries_in_flight(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_after_delays_the_next_attempt() {
    for t in TestDb::all().await {
        let id = t.insert_due(1).await[0];
        let b = Behaviour::new(|d| async move {
            if d.attempt == 1 {
                Err(RetryAfterError::new("HTTP 429", Duration::from_millis(400)).into())
            } else {
                Ok(())
            }
        });
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let w = start(&queue, 4, &b);
        let before = Instant::now();
        t.wait_counts(Duration::from_secs(10), &[("succeeded", 1)]).await;
        w.stop().await;

        let calls = b.calls_of(id);
        assert_eq!(calls.len(), 2);
        let gap = calls[1].started - calls[0].ended;
        assert!(
            gap >= Duration::from_millis(398),
            "{:?}: Retry-After 400 ms, gap {gap:?}",
            t.backend()
        );
        assert!(before.elapsed() < Duration::from_secs(5));
        let row = t.row(id).await;
        assert_eq!((row.attempts, row.lane), (2, 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abort_fails_after_one_attempt() {
    for t in TestDb::all().await {
        let id = t.insert_due(1).await[0];
        let b = Behaviour::new(|_| async { Err(AbortError::new("HTTP 410").into()) });
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let w = start(&queue, 4, &b);
        t.wait_counts(Duration::from_secs(10), &[("failed", 1)]).await;
        // Give a wrong retry the time it would need to show up.
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.stop().await;
        assert_eq!(b.calls_of(id).len(), 1);
        let row = t.row(id).await;
        assert_eq!((row.status.as_str(), row.attempts, row.lane), ("failed", 1, 0));
    }
}

/// With a 10 s poll, only the wake-up (Notify in process, NOTIFY on PostgreSQL) can explain a
/// delivery within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wake_up_starts_a_claim_at_once() {
    for t in TestDb::all().await {
        let cfg = QueueConfig {
            poll: Duration::from_secs(10),
            ..fast_cfg(4)
        };
        let queue = DeliveryQueue::new(t.db.clone(), cfg);
        let listener = if t.is_postgres() {
            Some(queue.listen_postgres(t.database.url()).await.unwrap())
        } else {
            None
        };
        let b = Behaviour::ok();
        let w = start(&queue, 4, &b);
        // Let the first (empty) claim finish so the worker is asleep.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.calls().is_empty());

        let inserted = Instant::now();
        if t.is_postgres() {
            // Another process's enqueue: insert + NOTIFY in one transaction, no in-process wake.
            let txn = t.db.begin().await.unwrap();
            txn.execute_unprepared(&format!(
                "INSERT INTO deliveries (account_id, webhook_id, status, next_attempt_at, \"trigger\", created_at, \
                 updated_at) VALUES ({}, {}, 'pending', 0, 'scheduled', 0, 0)",
                t.account_id, t.webhook_id
            ))
            .await
            .unwrap();
            txn.execute_unprepared(notify_sql()).await.unwrap();
            txn.commit().await.unwrap();
        } else {
            t.insert_due(1).await;
            queue.wake();
        }
        t.wait_counts(Duration::from_secs(5), &[("succeeded", 1)]).await;
        let latency = b.calls()[0].started - inserted;
        assert!(
            latency < Duration::from_secs(1),
            "{:?}: started after {latency:?}",
            t.backend()
        );
        w.stop().await;
        if let Some(l) = listener {
            l.abort();
        }
    }
}
