//! `herald-bench`: measures Herald end to end on this machine. Starts a signature-checking
//! receiver and Herald as child processes on loopback, creates an account, a token and webhooks
//! through the public API, sends events from concurrent clients, waits for every delivery and
//! prints a table and a JSON line. Everything stays on 127.0.0.1 and it stops by itself.
//!
//! `cargo run --release -p herald-tests --bin herald-bench -- --topology single --events 20000`
//! (build Herald first with `cargo build --release -p herald`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use herald_tests::db::TestDb;
use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::{Receiver, Reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Topology {
    /// One `herald serve` on SQLite.
    Single,
    /// One `serve --no-workers` plus `--workers` worker processes on PostgreSQL (`TEST_DATABASE_URL`).
    Pg,
}

/// End-to-end benchmark of Herald on loopback.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "single")]
    topology: Topology,
    /// Worker processes (pg topology).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Webhooks subscribed to every event.
    #[arg(long, default_value_t = 1)]
    webhooks: usize,
    /// Events to send.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent sending clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Events per ingest request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Concurrent deliveries per Herald process (`HERALD_WORKERS`).
    #[arg(long, default_value_t = 64)]
    herald_workers: usize,
    /// Target events/s in total (0 = as fast as possible); use a low rate to measure latency.
    #[arg(long, default_value_t = 0)]
    rate: u64,
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0)
}

fn peak_rss_mb(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = TestDb::create_for(matches!(args.topology, Topology::Pg)).await;
    let mut env = vec![
        ("HERALD_DATABASE_URL", db.url.clone()),
        ("HERALD_SECRET_KEY", "ef".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
    ];
    env.push(("HERALD_WORKERS", args.herald_workers.to_string()));
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(200, "ok"));
    let mut processes = Vec::new();
    let web = match args.topology {
        Topology::Single => HeraldProcess::start(&["serve"], &env).await,
        Topology::Pg => HeraldProcess::start(&["serve", "--no-workers"], &env).await,
    };
    if matches!(args.topology, Topology::Pg) {
        for _ in 0..args.workers {
            processes.push(HeraldProcess::start(&["worker"], &env).await);
        }
    }
    let s = Session::new(&web.base);
    s.signup("bench@example.com", "Bench").await;
    let token = s.create_token("bench", &["ingest", "read", "write"]).await;
    let mut secrets = Vec::new();
    for i in 0..args.webhooks {
        let body = json!({"name": format!("bench {i}"), "url": rx.url, "patterns": [{"pattern": "*"}]});
        let (status, created) = s.api(Method::POST, &token, "/webhooks", Some(&body)).await;
        anyhow::ensure!(status == StatusCode::CREATED, "webhook creation failed: {created}");
        secrets.push(created["secret"].as_str().unwrap_or_default().to_owned());
    }

    let acks: Arc<Mutex<HashMap<String, i64>>> = Arc::new(Mutex::new(HashMap::with_capacity(args.events)));
    let requests = args.events.div_ceil(args.batch);
    let per_client = requests.div_ceil(args.clients);
    let interval =
        (args.rate > 0).then(|| Duration::from_secs_f64(args.batch as f64 * args.clients as f64 / args.rate as f64));
    let (started, wall_at_start) = (Instant::now(), now_ms());
    let mut senders = Vec::new();
    for c in 0..args.clients {
        let (acks, token, base) = (acks.clone(), token.clone(), web.base.clone());
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
    let expected = args.events * args.webhooks;
    let mut latencies = Vec::with_capacity(expected);
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(expected);
    let mut bad_signatures = 0usize;
    let mut last_progress = Instant::now();
    let mut ingest_done: Option<Duration> = None;
    let pids: Vec<(&str, Option<u32>)> = std::iter::once(("web", web.child.id()))
        .chain(processes.iter().map(|p| ("worker", p.child.id())))
        .collect();
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
    let total = started.elapsed();
    let ingest = ingest_done.unwrap_or(total);
    eprintln!();
    latencies.sort_by(f64::total_cmp);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let lost = expected.saturating_sub(seen.len());
    let quarter = rss_at_quarter.unwrap_or_default();
    let rss: Vec<Value> = pids
        .iter()
        .enumerate()
        .map(|(i, (name, pid))| {
            let round = |mb: f64| (mb * 10.0).round() / 10.0;
            json!({"process": name, "mb": round(peak_rss_mb(*pid)), "mb_at_quarter": round(quarter.get(i).copied().unwrap_or(0.0))})
        })
        .collect();
    let result = json!({
        "topology": format!("{:?}", args.topology).to_lowercase(),
        "events": args.events, "webhooks": args.webhooks, "clients": args.clients, "batch": args.batch, "rate": args.rate,
        "ingest_events_per_s": (args.events as f64 / ingest.as_secs_f64()).round(),
        "deliveries_per_s": (seen.len() as f64 / total.as_secs_f64()).round(),
        "latency_ms": {"p50": percentile(&latencies, 0.5), "p95": percentile(&latencies, 0.95), "p99": percentile(&latencies, 0.99), "max": latencies.last().copied().unwrap_or(0.0)},
        "duplicates": duplicates, "lost": lost, "bad_signatures": bad_signatures,
        "peak_rss_mb": rss,
    });
    println!("| metric | value |\n|---|---|");
    for (k, v) in result.as_object().into_iter().flatten() {
        println!("| {k} | {v} |");
    }
    println!("{result}");
    drop(processes);
    drop(web);
    anyhow::ensure!(lost == 0, "{lost} deliveries did not arrive");
    Ok(())
}
