//! The load: concurrent clients ingesting events at `/api/v1/events`, and the wait for every
//! delivery at the receiver.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_tests::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::args::Args;
use crate::process::{now_ms, peak_rss_mb};

/// When each message id was acknowledged by Herald (wall-clock ms), filled in by the senders.
pub type Acks = Arc<Mutex<HashMap<String, i64>>>;

/// When the run started, on both clocks: arrivals are stamped with an [`Instant`], acks in ms.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub at: Instant,
    pub wall_ms: i64,
}

/// Starts `args.clients` clients that ingest `args.events` events named `bench-<i>` between
/// them, `args.batch` per request, at `args.rate` events/s in total (0: as fast as possible).
pub fn spawn_senders(args: &Args, base: &str, token: &str, acks: &Acks) -> Vec<JoinHandle<()>> {
    let requests = args.events.div_ceil(args.batch);
    let per_client = requests.div_ceil(args.clients);
    let interval =
        (args.rate > 0).then(|| Duration::from_secs_f64(args.batch as f64 * args.clients as f64 / args.rate as f64));
    let mut senders = Vec::new();
    for c in 0..args.clients {
        let (acks, token, base) = (Arc::clone(acks), token.to_owned(), base.to_owned());
        let (batch, total) = (args.batch, args.events);
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut tick = interval.map(tokio::time::interval);
            for r in 0..per_client {
                let first = (c * per_client + r) * batch;
                if first >= total {
                    break;
                }
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let ids: Vec<String> = (first..(first + batch).min(total))
                    .map(|i| format!("bench-{i}"))
                    .collect();
                let events: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"type": "track", "userId": "u", "event": "bench", "messageId": id}))
                    .collect();
                let body = if batch == 1 {
                    events[0].clone()
                } else {
                    json!({"batch": events})
                };
                let res = client
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let acked = now_ms();
                match res {
                    Ok(r) if r.status() == StatusCode::ACCEPTED => {
                        let mut map = acks.lock().await;
                        for id in ids {
                            map.insert(id, acked);
                        }
                    }
                    Ok(r) => eprintln!("ingest answered {}", r.status()),
                    Err(e) => eprintln!("ingest failed: {e}"),
                }
            }
        }));
    }
    senders
}

/// What arrived at the receiver during a run.
pub struct Delivered {
    /// Ack-to-arrival times in ms, sorted.
    pub latencies: Vec<f64>,
    /// Deliveries by `webhook-id`: more than one is a duplicate.
    pub seen: HashMap<String, usize>,
    pub bad_signatures: usize,
    /// How long the senders took; `None` when they did not finish in time.
    pub ingest: Option<Duration>,
    /// Peak RSS of each process once a quarter of the deliveries arrived (to compare with the
    /// end: flat means no growth with the queue).
    pub rss_at_quarter: Option<Vec<f64>>,
}

/// Drains the receiver until `expected` deliveries arrived and the senders finished (or ten
/// minutes passed), checking each signature against `secrets` and printing progress.
pub async fn wait_for_deliveries(
    rx: &mut Receiver,
    expected: usize,
    senders: &[JoinHandle<()>],
    acks: &Acks,
    secrets: &[String],
    pids: &[(&str, Option<u32>)],
    start: Start,
) -> Delivered {
    let (started, wall_at_start) = (start.at, start.wall_ms);
    let mut latencies = Vec::with_capacity(expected);
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(expected);
    let mut bad_signatures = 0usize;
    let mut last_progress = Instant::now();
    let mut ingest_done: Option<Duration> = None;
    // Peak RSS once a quarter of the deliveries arrived, to compare with the end (flatness).
    let mut rss_at_quarter: Option<Vec<f64>> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Waits for the senders too, so `--webhooks 0` measures ingest alone.
    while (seen.len() < expected || ingest_done.is_none()) && Instant::now() < deadline {
        if ingest_done.is_none() && senders.iter().all(tokio::task::JoinHandle::is_finished) {
            ingest_done = Some(started.elapsed());
        }
        let got = rx.drain(Duration::from_millis(50)).await;
        let map = acks.lock().await;
        for r in got {
            // The receiver stamps each request on arrival; convert that instant to wall-clock ms.
            let arrived = wall_at_start + i64::try_from(r.at.duration_since(started).as_millis()).unwrap_or(0);
            let id = r.header("webhook-id").unwrap_or_default().to_owned();
            let (ts, sig) = (
                r.header("webhook-timestamp").unwrap_or("0").parse().unwrap_or(0),
                r.header("webhook-signature").unwrap_or(""),
            );
            if !secrets
                .iter()
                .any(|secret| herald_jobs::signing::verify_standard(secret, &id, ts, ts, &r.body, sig))
            {
                bad_signatures += 1;
            }
            if let Some(acked) = map.get(r.json()["messageId"].as_str().unwrap_or_default()) {
                latencies.push((arrived - acked).max(0) as f64);
            }
            *seen.entry(id).or_default() += 1;
        }
        drop(map);
        if rss_at_quarter.is_none() && seen.len() * 4 >= expected {
            rss_at_quarter = Some(pids.iter().map(|(_, pid)| peak_rss_mb(*pid)).collect());
        }
        if last_progress.elapsed() > Duration::from_millis(500) {
            let done = seen.len();
            let bar = "#".repeat(done * 40 / expected.max(1));
            eprint!(
                "\r[{bar:<40}] {done}/{expected} delivered, {:.1} s",
                started.elapsed().as_secs_f64()
            );
            std::io::stderr().flush().ok();
            last_progress = Instant::now();
        }
    }
    latencies.sort_by(f64::total_cmp);
    Delivered {
        latencies,
        seen,
        bad_signatures,
        ingest: ingest_done,
        rss_at_quarter,
    }
}
