//! Fresh deliveries never wait behind a retry backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::support::{Row, TestDb};
use super::worker::{Behaviour, fast_cfg, start};
use crate::queue::{DeliveryQueue, now_ms};

const HANDLER: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_delivery_overtakes_a_retry_backlog() {
    for t in TestDb::all().await {
        // 200 due retries, each taking 100 ms: with 16 slots they would fill every slot for
        // ~1.3 s; capped at 8 in flight they take ~2.5 s, and 8 slots stay free for lane 0.
        let backlog = Row {
            lane: 1,
            attempts: 1,
            next_attempt_at: now_ms() - 1_000,
            ..Row::due()
        };
        t.insert(200, backlog).await;
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let b = Behaviour::new(move |d| {
            let (r, p) = (Arc::clone(&r), Arc::clone(&p));
            async move {
                if d.lane == 1 {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(HANDLER).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                }
                Ok(())
            }
        });
        let queue = DeliveryQueue::new(t.db.clone(), fast_cfg(16));
        assert_eq!(queue.config().max_retry_in_flight, 8);
        let w = start(&queue, 16, &b);
        // Let the backlog get going.
        let end = Instant::now() + Duration::from_secs(10);
        while b.calls().len() < 16 {
            assert!(Instant::now() < end, "{:?}: the backlog does not move", t.backend());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let fresh = t.insert_due(1).await[0];
        // Timed from the commit: the insert itself may wait for SQLite's write lock on a busy box.
        let inserted = Instant::now();
        queue.wake();
        let end = Instant::now() + Duration::from_secs(10);
        let started = loop {
            let seen = b
                .started
                .lock()
                .unwrap()
                .iter()
                .find(|(d, _)| d.id == fresh)
                .map(|(_, at)| *at);
            if let Some(at) = seen {
                break at;
            }
            assert!(
                Instant::now() < end,
                "{:?}: the fresh delivery never started",
                t.backend()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let retries_done = b.calls().iter().filter(|c| c.d.lane == 1 && c.ended <= started).count();
        let waited = started - inserted;
        // Behind the backlog it would wait for the whole drain (>= 2.5 s, 200 retries done); in
        // its own lane it starts within milliseconds. The bounds are generous for a loaded box.
        assert!(
            waited < Duration::from_secs(1),
            "{:?}: fresh row waited {waited:?}",
            t.backend()
        );
        assert!(
            retries_done < 100,
            "{:?}: started only after {retries_done} of 200 retries",
            t.backend()
        );

        t.wait_counts(Duration::from_secs(30), &[("succeeded", 201)]).await;
        w.stop().await;
        assert!(
            peak.load(Ordering::SeqCst) <= 8,
            "{:?}: {} retries ran at once",
            t.backend(),
            peak.load(Ordering::SeqCst)
        );
        assert_eq!(queue.retries_in_flight(), 0);
        let row = t.row(fresh).await;
        assert_eq!((row.lane, row.attempts), (0, 1));
    }
}
