//! Crash recovery and shutdown: the settle fence, the reaper, graceful stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apalis::prelude::{Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt};

use super::support::{Row, TestDb, claim};
use super::worker::{Behaviour, attempt_with, fast_cfg, handle, start};
use crate::queue::attempt::{Outcome, Settled};
use crate::queue::{ClaimedDelivery, DeliveryQueue, now_ms};
use crate::send::Verdict;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_outcome_changes_nothing() {
    for t in TestDb::all().await {
        let id = t.insert_due(1).await[0];
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let pool = queue.pool();
        let schedule = &queue.config().retry_schedule;
        let now = now_ms();

        let first = claim(&queue, 10, now, now + 60_000).await;
        assert_eq!((first.len(), first[0].id, first[0].attempt), (1, id, 1));
        // The first claimant stalls past its lease; the reaper hands the row to a second one,
        // whose lease ends later (it claims after the first lease ended).
        t.exec(&format!(
            "UPDATE deliveries SET lease_until = {} WHERE id = {id}",
            now - 1
        ))
        .await;
        assert_eq!(pool.reap(now).await.unwrap(), 1);
        let second = claim(&queue, 10, now, now + 120_000).await;
        assert_eq!(
            second[0].attempt, 1,
            "the lost claim recorded nothing, so it counts nothing"
        );

        let outcome = |v: Verdict| Outcome::Sent(Box::new(attempt_with(v)));
        let settle =
            |claim: &ClaimedDelivery, v: Verdict| Settled::new(claim.clone(), Ok::<_, &String>(&outcome(v)), schedule);
        for late in [settle(&first[0], Verdict::Delivered), settle(&first[0], Verdict::Retry)] {
            assert_eq!(
                pool.settle(&[&late], now_ms(), queue.config()).await.unwrap().0,
                0,
                "{:?}: {late:?}",
                t.backend()
            );
        }
        assert_eq!(pool.release(&[(id, first[0].lease_until)], now_ms()).await.unwrap(), 0);
        let row = t.row(id).await;
        assert_eq!(
            (row.status.as_str(), row.attempts, row.lane),
            ("in_flight", 0, 0),
            "{row:?}"
        );
        assert!(row.lease_until.is_some());
        assert_eq!(t.attempt_rows(id).await, 0, "a late outcome leaves no attempt row");

        let current = settle(&second[0], Verdict::Delivered);
        assert_eq!(pool.settle(&[&current], now_ms(), queue.config()).await.unwrap().0, 1);
        // Settled once: a repeat no longer matches `in_flight`.
        assert_eq!(pool.settle(&[&current], now_ms(), queue.config()).await.unwrap().0, 0);
        let row = t.row(id).await;
        assert_eq!(
            (row.status.as_str(), row.attempts, row.lease_until),
            ("succeeded", 1, None)
        );
        assert_eq!(t.attempt_rows(id).await, 1, "attempts equals the attempt rows");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reaper_redelivers_expired_leases() {
    for t in TestDb::all().await {
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let b = Behaviour::ok();
        let w = start(&queue, 4, &b);
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Left behind by a crashed worker: one lease expired, one still valid.
        let base = Row {
            status: "in_flight",
            attempts: 1,
            ..Row::due()
        };
        let expired = t
            .insert(
                1,
                Row {
                    lease_until: Some(now_ms() - 1_000),
                    ..base
                },
            )
            .await[0];
        let valid = t
            .insert(
                1,
                Row {
                    lease_until: Some(now_ms() + 60_000),
                    ..base
                },
            )
            .await[0];
        t.wait_counts(Duration::from_secs(10), &[("in_flight", 1), ("succeeded", 1)])
            .await;
        // Several reaper rounds later the valid lease is still untouched.
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.stop().await;

        let calls = b.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].d.id, calls[0].d.attempt), (expired, 2));
        let row = t.row(expired).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2));
        let row = t.row(valid).await;
        assert_eq!((row.status.as_str(), row.attempts), ("in_flight", 1));
    }
}

/// `Monitor::run_with_signal`: running deliveries finish and are acknowledged, claimed but
/// unstarted ones go back to `pending` with their attempt undone; nothing stays `in_flight`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_shutdown_leaves_nothing_in_flight() {
    for t in TestDb::all().await {
        t.insert_due(2_000).await;
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(16));
        let b = Behaviour::new(|_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(())
        });
        let (q, state) = (queue.clone(), b.clone());
        let monitor = Monitor::new().register(move |run| {
            WorkerBuilder::new(format!("shutdown-test-{run}"))
                .backend(q.backend())
                .data(state.clone())
                .concurrency(16)
                .parallelize(tokio::spawn)
                .build(handle)
        });
        let signalled = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&signalled);
        let run = monitor.run_with_signal(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap()
            .unwrap();
        assert!(signalled.load(Ordering::SeqCst));

        let handled = i64::try_from(b.calls().len()).unwrap();
        let counts = t.counts().await;
        assert!(handled > 0 && handled < 2_000, "{:?}: handled {handled}", t.backend());
        assert_eq!(counts.get("in_flight"), None, "{:?}: {counts:?}", t.backend());
        assert_eq!(
            counts.get("succeeded"),
            Some(&handled),
            "{:?}: every finished call acked",
            t.backend()
        );
        assert_eq!(counts.get("pending"), Some(&(2_000 - handled)));
        for r in t.rows().await.into_iter().filter(|r| r.status == "pending") {
            assert_eq!(
                (r.attempts, r.lease_until),
                (0, None),
                "released rows cost no attempt: {r:?}"
            );
        }
        assert_eq!(queue.retries_in_flight(), 0);
    }
}

/// Claims that fail (here: the table is gone for a while) are logged and retried; the worker
/// keeps running and delivers once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_error_does_not_end_the_worker() {
    for t in TestDb::all().await {
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(4));
        let b = Behaviour::ok();
        let w = start(&queue, 4, &b);
        tokio::time::sleep(Duration::from_millis(100)).await;
        t.exec("ALTER TABLE deliveries RENAME TO deliveries_away").await;
        // A dozen failed claims at a 20 ms poll.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            w.is_running(),
            "{:?}: the worker ended on a database error",
            t.backend()
        );
        t.exec("ALTER TABLE deliveries_away RENAME TO deliveries").await;
        t.insert_due(10).await;
        t.wait_counts(Duration::from_secs(10), &[("succeeded", 10)]).await;
        w.stop().await;
        assert_eq!(b.calls().len(), 10);
    }
}
