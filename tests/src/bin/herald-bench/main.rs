//! `herald-bench`: measures Herald end to end on this machine. Starts a signature-checking
//! receiver and Herald as child processes on loopback, creates an account, a token and webhooks
//! through the public API, sends events from concurrent clients, waits for every delivery and
//! prints a table and a JSON line. Everything stays on 127.0.0.1 and it stops by itself.
//!
//! Cost: the CPU time (user + system, from `/proc/<pid>/stat`) every Herald process and, on the
//! pg topology, every PostgreSQL process used between the first event sent and the last
//! delivery received, per delivery and per event; the bench's and the receiver's own CPU for
//! context (the receiver runs in this process, on its `actix-server` threads). At the end it
//! scrapes each Herald process's `/metrics` (`HERALD_METRICS` is on) and prints the group
//! commits, claims and attempts it counted, so a profile can be read without `perf`.
//!
//! `cargo run --release -p herald-tests --bin herald-bench -- --topology single --events 20000`
//! (build Herald first with `cargo build --release -p herald`).

mod args;
mod load;
mod process;
mod report;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::{Receiver, Reply};
use migration::testing::ThrowawayDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use args::{Args, Topology};
use load::{Acks, Delivered, Start};
use process::{CpuTicks, clock_ticks_per_s, now_ms, peak_rss_mb};
use report::{percentile, profile, scrape};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = match args.topology {
        Topology::Single => ThrowawayDb::create().await,
        Topology::Pg => ThrowawayDb::postgres_required().await,
    };
    let mut env = vec![
        ("HERALD_DATABASE_URL", db.url().to_owned()),
        ("HERALD_SECRET_KEY", "ef".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("HERALD_METRICS", "true".to_owned()),
        // The bench measures throughput, not the per-account ingest quota.
        ("HERALD_INGEST_EVENTS_PER_SECOND", "10000000".to_owned()),
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

    let acks: Acks = Arc::new(Mutex::new(HashMap::with_capacity(args.events)));
    let pids: Vec<(&str, Option<u32>)> = std::iter::once(("web", web.child.id()))
        .chain(processes.iter().map(|p| ("worker", p.child.id())))
        .collect();
    let bench_db = match args.topology {
        Topology::Single => None,
        Topology::Pg => url::Url::parse(db.url())
            .ok()
            .map(|u| u.path().trim_start_matches('/').to_owned()),
    };
    let ticks_per_s = clock_ticks_per_s();
    let cpu_before = CpuTicks::read(&pids, bench_db.as_deref());
    let (started, wall_at_start) = (Instant::now(), now_ms());
    let senders = load::spawn_senders(&args, &web.base, &token, &acks);
    let expected = args.events * args.webhooks;
    let start = Start {
        at: started,
        wall_ms: wall_at_start,
    };
    let delivered = load::wait_for_deliveries(&mut rx, expected, &senders, &acks, &secrets, &pids, start).await;
    let total = started.elapsed();
    let cpu_after = CpuTicks::read(&pids, bench_db.as_deref());
    let ingest = delivered.ingest.unwrap_or(total);
    eprintln!();
    let Delivered {
        latencies,
        seen,
        bad_signatures,
        rss_at_quarter,
        ..
    } = delivered;
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
    let secs = |before: u64, after: u64| after.saturating_sub(before) as f64 / ticks_per_s;
    let herald_cpu: Vec<f64> = cpu_before
        .herald
        .iter()
        .zip(&cpu_after.herald)
        .map(|(b, a)| secs(*b, *a))
        .collect();
    let herald_cpu_s: f64 = herald_cpu.iter().sum();
    let pg = bench_db.is_some();
    let postgres_cpu_s = pg.then(|| secs(cpu_before.postgres, cpu_after.postgres));
    let postgres_bench_db_cpu_s = pg.then(|| secs(cpu_before.postgres_bench_db, cpu_after.postgres_bench_db));
    // µs of CPU per unit of work, whole microseconds; none when no such work was done.
    let per = |cpu_s: f64, n: usize| (n > 0).then(|| (cpu_s * 1e6 / n as f64).round());
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let cpu_by_process: Vec<Value> = pids
        .iter()
        .zip(&herald_cpu)
        .map(|((name, _), s)| json!({"process": name, "s": round2(*s)}))
        .collect();
    let mut profiles = Vec::new();
    profiles.extend(profile("web", &scrape(&web.base).await));
    for (i, p) in processes.iter().enumerate() {
        profiles.extend(profile(&format!("worker {}", i + 1), &scrape(&p.base).await));
    }
    let result = json!({
        "topology": format!("{:?}", args.topology).to_lowercase(),
        "events": args.events, "webhooks": args.webhooks, "clients": args.clients, "batch": args.batch, "rate": args.rate,
        "ingest_events_per_s": (args.events as f64 / ingest.as_secs_f64()).round(),
        "deliveries_per_s": (seen.len() as f64 / total.as_secs_f64()).round(),
        "latency_ms": {"p50": percentile(&latencies, 0.5), "p95": percentile(&latencies, 0.95), "p99": percentile(&latencies, 0.99), "max": latencies.last().copied().unwrap_or(0.0)},
        "duplicates": duplicates, "lost": lost, "bad_signatures": bad_signatures,
        "peak_rss_mb": rss,
        "herald_cpu_us_per_delivery": per(herald_cpu_s, seen.len()),
        "herald_cpu_us_per_event": per(herald_cpu_s, args.events),
        "postgres_cpu_us_per_delivery": postgres_cpu_s.and_then(|s| per(s, seen.len())),
        "postgres_cpu_us_per_event": postgres_cpu_s.and_then(|s| per(s, args.events)),
        "cpu_s": {
            "herald": round2(herald_cpu_s), "herald_by_process": cpu_by_process,
            "postgres": postgres_cpu_s.map(round2), "postgres_bench_db": postgres_bench_db_cpu_s.map(round2),
            "bench": round2(secs(cpu_before.bench, cpu_after.bench)),
            "receiver": round2(secs(cpu_before.receiver, cpu_after.receiver)),
            "wall": round2(total.as_secs_f64()), "clock_ticks_per_s": ticks_per_s,
        },
        "profile": profiles.clone(),
    });
    report::print(&result, &profiles);
    drop(processes);
    drop(web);
    anyhow::ensure!(lost == 0, "{lost} deliveries did not arrive");
    Ok(())
}
